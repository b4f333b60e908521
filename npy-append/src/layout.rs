//! [`FrameLayout`]: what the frames of an appendable array are (dtype, order, frame shape).

use std::fmt;

use npy_format::{DType, Element, Header};

/// The frames an appendable array is made of: their dtype, their shape, and the storage order
/// that decides the growth axis (axis 0 in C order, the last axis in Fortran order).
///
/// A 1-d array grows along its only axis in either order; its layout is always C order, as
/// numpy writes it.
///
/// ```
/// use npy_append::FrameLayout;
/// let images = FrameLayout::of::<u16>(&[480, 640]);
/// assert_eq!(images.header(10).shape, vec![10, 480, 640]);
/// assert_eq!(images.frame_len(), Some(480 * 640 * 2));
///
/// let columns = FrameLayout::of::<f64>(&[3]).fortran_order(true);
/// assert_eq!(columns.header(5).shape, vec![3, 5]);
/// assert_eq!(columns.to_string(), "frames of shape (3,) of '<f8' in Fortran order");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FrameLayout {
    dtype: DType,
    fortran_order: bool,
    frame_shape: Vec<u64>,
}

impl FrameLayout {
    /// Frames of `frame_shape` elements of `dtype`, in C order (growing along axis 0).
    /// An empty `frame_shape` makes a 1-d array of scalars.
    ///
    /// ```
    /// use npy_append::{FrameLayout, npy_format::DType};
    /// let records = DType::parse("[('t', '<f8'), ('id', '<u4')]").unwrap();
    /// let layout = FrameLayout::new(records, &[]);
    /// assert_eq!(layout.frame_len(), Some(12));
    /// assert_eq!(layout.header(2).shape, vec![2]);
    /// ```
    pub fn new(dtype: DType, frame_shape: &[u64]) -> FrameLayout {
        FrameLayout {
            dtype,
            fortran_order: false,
            frame_shape: frame_shape.to_vec(),
        }
    }

    /// Frames of `frame_shape` elements of `T` (native byte order), in C order.
    ///
    /// ```
    /// use npy_append::FrameLayout;
    /// let layout = FrameLayout::of::<i32>(&[2, 2]);
    /// assert_eq!(layout.dtype().descr(), npy_format::DType::parse("=i4").unwrap().descr());
    /// ```
    pub fn of<T: Element>(frame_shape: &[u64]) -> FrameLayout {
        FrameLayout::new(T::dtype(), frame_shape)
    }

    /// Fortran order: frames are appended along the last axis. Ignored for scalar frames
    /// (1-d arrays), which are the same in both orders and which numpy writes as C order.
    ///
    /// ```
    /// use npy_append::FrameLayout;
    /// assert!(FrameLayout::of::<u8>(&[4]).fortran_order(true).is_fortran_order());
    /// assert!(!FrameLayout::of::<u8>(&[]).fortran_order(true).is_fortran_order());
    /// ```
    pub fn fortran_order(mut self, fortran_order: bool) -> FrameLayout {
        self.fortran_order = fortran_order && !self.frame_shape.is_empty();
        self
    }

    /// The layout of the array a header describes; `None` for a 0-d array, which has no
    /// growth axis.
    ///
    /// ```
    /// use npy_append::FrameLayout;
    /// use npy_format::{DType, Header};
    /// let header = Header::new(DType::parse("<f4").unwrap(), true, vec![3, 7]);
    /// let layout = FrameLayout::from_header(&header).unwrap();
    /// assert_eq!(layout.frame_shape(), &[3]);
    /// assert!(FrameLayout::from_header(&Header::new(DType::parse("<f4").unwrap(), false, vec![])).is_none());
    /// ```
    pub fn from_header(header: &Header) -> Option<FrameLayout> {
        header.growth_axis()?;
        Some(
            FrameLayout::new(header.dtype.clone(), &header.frame_shape())
                .fortran_order(header.fortran_order),
        )
    }

    /// The element type.
    ///
    /// ```
    /// assert_eq!(npy_append::FrameLayout::of::<u8>(&[]).dtype().itemsize(), 1);
    /// ```
    pub fn dtype(&self) -> &DType {
        &self.dtype
    }

    /// Whether frames grow along the last axis.
    ///
    /// ```
    /// assert!(!npy_append::FrameLayout::of::<u8>(&[2]).is_fortran_order());
    /// ```
    pub fn is_fortran_order(&self) -> bool {
        self.fortran_order
    }

    /// The shape of one frame.
    ///
    /// ```
    /// assert_eq!(npy_append::FrameLayout::of::<u8>(&[2, 3]).frame_shape(), &[2, 3]);
    /// ```
    pub fn frame_shape(&self) -> &[u64] {
        &self.frame_shape
    }

    /// Bytes per frame, or `None` if the count overflows.
    ///
    /// ```
    /// use npy_append::FrameLayout;
    /// assert_eq!(FrameLayout::of::<f32>(&[4, 4]).frame_len(), Some(64));
    /// assert_eq!(FrameLayout::of::<f32>(&[u64::MAX, 2]).frame_len(), None);
    /// ```
    pub fn frame_len(&self) -> Option<u64> {
        self.frame_shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))?
            .checked_mul(u64::try_from(self.dtype.itemsize()).ok()?)
    }

    /// The header of an array of `frames` frames of this layout. In Fortran order the header
    /// says `fortran_order: True` even when the array is also C-contiguous (a zero or a single
    /// frame), where `np.save` would write `False`: the flag is what tells every later reader
    /// and appender which axis grows.
    ///
    /// ```
    /// use npy_append::FrameLayout;
    /// let header = FrameLayout::of::<u8>(&[3]).fortran_order(true).header(0);
    /// assert_eq!(header.shape, vec![3, 0]);
    /// assert!(header.fortran_order);
    /// ```
    pub fn header(&self, frames: u64) -> Header {
        let mut shape = self.frame_shape.clone();
        if self.fortran_order {
            shape.push(frames);
        } else {
            shape.insert(0, frames);
        }
        Header::new(self.dtype.clone(), self.fortran_order, shape)
    }

    /// How many frames of this layout the array of `header` holds, if its data is frames of
    /// this layout: same dtype, same frame shape along this layout's growth axis. Arrays whose
    /// bytes are the same in C and Fortran order (at most one dimension above 1, or no
    /// elements) match either order, and a 0-d array is one frame of a scalar layout.
    ///
    /// ```
    /// use npy_append::FrameLayout;
    /// use npy_format::{DType, Header};
    /// let layout = FrameLayout::of::<f32>(&[3]).fortran_order(true);
    /// let dt = DType::parse("<f4").unwrap();
    /// assert_eq!(layout.frames_in(&Header::new(dt.clone(), true, vec![3, 8])), Some(8));
    /// // numpy writes a (3, 1) Fortran array as C order: its bytes are the same.
    /// assert_eq!(layout.frames_in(&Header::new(dt.clone(), false, vec![3, 1])), Some(1));
    /// assert_eq!(layout.frames_in(&Header::new(dt.clone(), false, vec![3, 2])), None);
    /// assert_eq!(FrameLayout::of::<f32>(&[]).frames_in(&Header::new(dt, false, vec![])), Some(1));
    /// ```
    pub fn frames_in(&self, header: &Header) -> Option<u64> {
        if header.dtype != self.dtype {
            return None;
        }
        if header.shape.is_empty() {
            return self.frame_shape.is_empty().then_some(1);
        }
        let both_orders =
            header.shape.contains(&0) || header.shape.iter().filter(|&&d| d != 1).count() <= 1;
        let same_order = header.shape.len() == 1 || header.fortran_order == self.fortran_order;
        if !same_order && !both_orders {
            return None;
        }
        let as_ours = Header::new(
            header.dtype.clone(),
            self.fortran_order,
            header.shape.clone(),
        );
        (as_ours.frame_shape() == self.frame_shape).then(|| as_ours.frame_count())
    }
}

impl fmt::Display for FrameLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frames of shape {} of {} in {} order",
            py_tuple(&self.frame_shape),
            self.dtype.descr(),
            if self.fortran_order { "Fortran" } else { "C" }
        )
    }
}

/// A shape as Python prints it: `()`, `(3,)`, `(2, 3)`.
pub(crate) fn py_tuple(shape: &[u64]) -> String {
    match shape {
        [] => "()".to_owned(),
        [one] => format!("({one},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(descr: &str, fortran: bool, shape: &[u64]) -> Header {
        Header::new(DType::parse(descr).unwrap(), fortran, shape.to_vec())
    }

    #[test]
    fn layouts_round_trip_through_headers() {
        for layout in [
            FrameLayout::of::<u8>(&[]),
            FrameLayout::of::<u8>(&[2, 3]),
            FrameLayout::of::<u8>(&[2, 3]).fortran_order(true),
            FrameLayout::of::<u8>(&[0]).fortran_order(true),
        ] {
            for frames in [0, 1, 5] {
                let h = layout.header(frames);
                assert_eq!(FrameLayout::from_header(&h).as_ref(), Some(&layout));
                assert_eq!(layout.frames_in(&h), Some(frames));
                assert_eq!(h.frame_count(), frames);
            }
        }
    }

    #[test]
    fn frames_in_refuses_other_layouts() {
        let layout = FrameLayout::new(DType::parse("<i2").unwrap(), &[2, 2]);
        assert_eq!(layout.frames_in(&header("<i2", false, &[5, 2, 2])), Some(5));
        assert_eq!(layout.frames_in(&header(">i2", false, &[5, 2, 2])), None);
        assert_eq!(layout.frames_in(&header("<i2", true, &[5, 2, 2])), None);
        assert_eq!(layout.frames_in(&header("<i2", true, &[2, 2, 5])), None);
        assert_eq!(layout.frames_in(&header("<i2", false, &[5, 2])), None);
        assert_eq!(layout.frames_in(&header("<i2", false, &[])), None);
        // No elements: the same (empty) bytes in either order.
        assert_eq!(layout.frames_in(&header("<i2", true, &[0, 2, 2])), Some(0));
        assert_eq!(py_tuple(&[1, 2]), "(1, 2)");
    }
}
