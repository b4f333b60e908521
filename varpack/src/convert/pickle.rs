//! The plain-data part of Python's pickle format (the opcodes protocols 2 to 4 write for
//! `None`, booleans, integers, floats, strings, bytes, lists, tuples and dicts), decoded
//! without running anything. Three kinds of object are recognised by the names they are
//! pickled under and rebuilt as data: numpy arrays and numpy scalars of plain dtypes (numpy's
//! `_reconstruct` / `scalar` with a `numpy.dtype` state), and Varpack's `NumpyArrayPlaceholder`
//! (its stand-in for a dict's array saved as its own `.npy`). Any other import or call gives an
//! opaque node naming what it was, so only the values holding one are refused, and the rest of
//! the pickle still decodes.
//!
//! The input is a byte slice: every length is checked against what is left of it, nodes are
//! at most one per opcode, and turning nodes into values is bounded in depth (a list holding
//! itself) and in total work (a value shared many times over).

use std::collections::HashMap;

/// A decoded node; containers refer to other nodes by index (pickle's memo shares them).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<usize>),
    Tuple(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    /// A class or function named by module and name (not imported).
    Global(String, String),
    /// A Varpack `NumpyArrayPlaceholder`, with its `.filename` once built.
    Placeholder(Option<String>),
    Bytes(Vec<u8>),
    /// `numpy.dtype(base)`, its byte order and item size once built.
    Dtype {
        base: String,
        built: Option<(String, i128)>,
    },
    /// `numpy._core.multiarray._reconstruct(...)`: an array until its state is built.
    ArrayStub,
    /// A numpy array (or scalar, with an empty shape) of a plain dtype.
    Array(NdArray),
    /// Something only Python can rebuild: what it is.
    Opaque(String),
}

/// A pickle that is not one (or uses opcodes outside protocols 2 to 4): where and why.
#[derive(Debug)]
pub(super) struct DecodeError {
    pub offset: u64,
    pub reason: String,
}

/// A decoded pickle: its nodes and the root.
pub(super) struct Decoded {
    nodes: Vec<Node>,
    root: usize,
}

/// A numpy array rebuilt from its pickle.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NdArray {
    /// The numpy descr (`<f8`, `|b1`, `<U5`).
    pub descr: String,
    pub shape: Vec<u64>,
    pub fortran: bool,
    pub data: Vec<u8>,
}

/// A value of a decoded pickle, as the caller needs it.
pub(super) enum Plain<'a> {
    /// Plain data.
    Json(serde_json::Value),
    /// A placeholder's file name.
    Placeholder(&'a str),
    /// A numpy array or scalar.
    Array(&'a NdArray),
}

/// Decodes `data`, one pickle.
pub(super) fn decode(data: &[u8]) -> Result<Decoded, DecodeError> {
    Decoder {
        data,
        pos: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    nodes: Vec<Node>,
    stack: Vec<usize>,
    marks: Vec<usize>,
    memo: HashMap<u64, usize>,
}

impl Decoder<'_> {
    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError {
            offset: self.pos as u64,
            reason: reason.into(),
        })
    }

    fn take(&mut self, n: u64) -> Result<&[u8], DecodeError> {
        let left = (self.data.len() - self.pos) as u64;
        if n > left {
            return self.fail(format!("{n} bytes needed, {left} left (cut short?)"));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.data[start..self.pos])
    }

    fn uint(&mut self, width: usize) -> Result<u64, DecodeError> {
        let mut b = [0u8; 8];
        b[..width].copy_from_slice(self.take(width as u64)?);
        Ok(u64::from_le_bytes(b))
    }

    fn push(&mut self, node: Node) {
        self.nodes.push(node);
        self.stack.push(self.nodes.len() - 1);
    }

    fn pop(&mut self) -> Result<usize, DecodeError> {
        match self.stack.pop() {
            Some(i) => Ok(i),
            None => self.fail("the stack is empty"),
        }
    }

    fn top(&self) -> Result<usize, DecodeError> {
        match self.stack.last() {
            Some(&i) => Ok(i),
            None => self.fail("the stack is empty"),
        }
    }

    /// The items pushed since the last mark.
    fn pop_mark(&mut self) -> Result<Vec<usize>, DecodeError> {
        match self.marks.pop() {
            Some(m) if m <= self.stack.len() => Ok(self.stack.split_off(m)),
            _ => self.fail("no mark"),
        }
    }

    fn string(&mut self, width: usize) -> Result<(), DecodeError> {
        let n = self.uint(width)?;
        let bytes = self.take(n)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                let s = s.to_owned();
                self.push(Node::Str(s));
                Ok(())
            }
            Err(_) => self.fail("a string that is not UTF-8"),
        }
    }

    /// A little-endian two's-complement integer of `n` bytes.
    fn long(&mut self, n: u64) -> Result<(), DecodeError> {
        let bytes = self.take(n)?;
        if bytes.len() > 16 {
            self.push(Node::Opaque("an integer wider than 64 bits".into()));
            return Ok(());
        }
        let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
        let mut b = [if negative { 0xFF } else { 0 }; 16];
        b[..bytes.len()].copy_from_slice(bytes);
        self.push(Node::Int(i128::from_le_bytes(b)));
        Ok(())
    }

    /// Appends `items` to the list (or `pairs` to the dict) `target`; other targets (an object
    /// being rebuilt) become opaque.
    fn extend(&mut self, target: usize, items: Vec<usize>, pairs: bool) -> Result<(), DecodeError> {
        match (&mut self.nodes[target], pairs) {
            (Node::List(list), false) => list.extend(items),
            (Node::Dict(dict), true) => {
                if !items.len().is_multiple_of(2) {
                    return self.fail("a key without a value");
                }
                dict.extend(items.chunks_exact(2).map(|kv| (kv[0], kv[1])));
            }
            (Node::Opaque(_), _) => {}
            (node, _) => *node = Node::Opaque(format!("{} extended like a container", what(node))),
        }
        Ok(())
    }

    fn run(mut self) -> Result<Decoded, DecodeError> {
        loop {
            let at = self.pos;
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    let proto = self.take(1)?[0];
                    if proto > 5 {
                        return self.fail(format!("pickle protocol {proto}"));
                    }
                }
                0x95 => {
                    self.uint(8)?; // FRAME: a length hint.
                }
                b'.' => {
                    let root = self.pop()?;
                    return Ok(Decoded {
                        nodes: self.nodes,
                        root,
                    });
                }
                _ => {
                    if !(self.value(op)? || self.container(op)? || self.reference(op)?) {
                        self.pos = at;
                        return self.fail(format!(
                            "opcode {op:#04x}, not one pickle protocols 2 to 4 write for data"
                        ));
                    }
                }
            }
        }
    }

    /// Opcodes that push a value: None, booleans, integers, floats, strings, bytes. Whether
    /// `op` was one.
    fn value(&mut self, op: u8) -> Result<bool, DecodeError> {
        match op {
            b'N' => self.push(Node::None),
            0x88 => self.push(Node::Bool(true)),
            0x89 => self.push(Node::Bool(false)),
            b'J' => {
                let v = self.uint(4)? as u32 as i32;
                self.push(Node::Int(v.into()));
            }
            b'K' => {
                let v = self.uint(1)?;
                self.push(Node::Int(v.into()));
            }
            b'M' => {
                let v = self.uint(2)?;
                self.push(Node::Int(v.into()));
            }
            0x8a => {
                let n = self.uint(1)?;
                self.long(n)?;
            }
            0x8b => {
                let n = self.uint(4)? as u32 as i32;
                match u64::try_from(n) {
                    Ok(n) => self.long(n)?,
                    Err(_) => return self.fail(format!("integer of {n} bytes")),
                }
            }
            b'G' => {
                let b: [u8; 8] = self.take(8)?.try_into().unwrap_or_default();
                self.push(Node::Float(f64::from_be_bytes(b)));
            }
            0x8c => self.string(1)?,
            b'X' => self.string(4)?,
            0x8d => self.string(8)?,
            b'C' | b'B' | 0x8e | 0x96 => {
                let width = match op {
                    b'C' => 1,
                    b'B' => 4,
                    _ => 8,
                };
                let n = self.uint(width)?;
                let bytes = self.take(n)?.to_vec();
                self.push(Node::Bytes(bytes));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Opcodes that build lists, tuples, dicts and sets. Whether `op` was one.
    fn container(&mut self, op: u8) -> Result<bool, DecodeError> {
        match op {
            b'}' => self.push(Node::Dict(Vec::new())),
            b']' => self.push(Node::List(Vec::new())),
            b')' => self.push(Node::Tuple(Vec::new())),
            0x8f => self.push(Node::Opaque("a set".into())),
            b'(' => self.marks.push(self.stack.len()),
            b'a' => {
                let item = self.pop()?;
                let target = self.top()?;
                self.extend(target, vec![item], false)?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                self.extend(target, items, false)?;
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                let target = self.top()?;
                self.extend(target, vec![key, value], true)?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                self.extend(target, items, true)?;
            }
            0x90 => {
                self.pop_mark()?; // ADDITEMS to a set, opaque already.
            }
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Node::List(items));
            }
            b't' => {
                let items = self.pop_mark()?;
                self.push(Node::Tuple(items));
            }
            0x91 => {
                self.pop_mark()?;
                self.push(Node::Opaque("a frozenset".into()));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n {
                    return self.fail("the stack is empty");
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push(Node::Tuple(items));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Opcodes of the memo (shared references) and of objects (globals, calls, states).
    /// Whether `op` was one.
    fn reference(&mut self, op: u8) -> Result<bool, DecodeError> {
        match op {
            0x94 => {
                let top = self.top()?;
                self.memo.insert(self.memo.len() as u64, top);
            }
            b'q' | b'r' => {
                let i = self.uint(if op == b'q' { 1 } else { 4 })?;
                let top = self.top()?;
                self.memo.insert(i, top);
            }
            b'h' | b'j' => {
                let i = self.uint(if op == b'h' { 1 } else { 4 })?;
                match self.memo.get(&i) {
                    Some(&node) => self.stack.push(node),
                    None => return self.fail(format!("memo {i} was never stored")),
                }
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (&self.nodes[module], &self.nodes[name]) {
                    (Node::Str(m), Node::Str(n)) => {
                        let global = Node::Global(m.clone(), n.clone());
                        self.push(global);
                    }
                    _ => return self.fail("a global named by non-strings"),
                }
            }
            b'c' => {
                let mut line = || -> Result<String, DecodeError> {
                    let rest = &self.data[self.pos..];
                    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                        return self.fail("a global's name runs to the end");
                    };
                    let text = String::from_utf8_lossy(&rest[..end]).into_owned();
                    self.pos += end + 1;
                    Ok(text)
                };
                let module = line()?;
                let name = line()?;
                self.push(Node::Global(module, name));
            }
            b'R' | 0x81 | 0x92 => {
                if op == 0x92 {
                    self.pop()?; // keyword arguments
                }
                let args = self.pop()?;
                let callable = self.pop()?;
                let node = self.call(callable, args, op == b'R');
                self.push(node);
            }
            b'b' => {
                let state = self.pop()?;
                let target = self.top()?;
                let built = self.build(target, state);
                self.nodes[target] = built;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// What calling `callable` with `args` (REDUCE, or NEWOBJ for a class) makes.
    fn call(&self, callable: usize, args: usize, reduce: bool) -> Node {
        let Node::Global(module, name) = &self.nodes[callable] else {
            return Node::Opaque("an object".into());
        };
        let args: &[usize] = match &self.nodes[args] {
            Node::Tuple(items) => items,
            _ => &[],
        };
        let arg = |i: usize| args.get(i).map(|&a| &self.nodes[a]);
        let numpy = module == "numpy";
        let multiarray = matches!(
            module.as_str(),
            "numpy.core.multiarray" | "numpy._core.multiarray"
        );
        match name.as_str() {
            "NumpyArrayPlaceholder" if !reduce && module == "varpack" => Node::Placeholder(None),
            "dtype" if numpy => match arg(0) {
                Some(Node::Str(base)) => Node::Dtype {
                    base: base.clone(),
                    built: None,
                },
                _ => Node::Opaque("a numpy.dtype object".into()),
            },
            "_reconstruct" if multiarray => Node::ArrayStub,
            "scalar" if multiarray => match (arg(0), arg(1)) {
                (Some(dtype @ Node::Dtype { .. }), Some(Node::Bytes(data))) => {
                    match descr_of(dtype) {
                        Some(descr) => Node::Array(NdArray {
                            descr,
                            shape: Vec::new(),
                            fortran: false,
                            data: data.clone(),
                        }),
                        None => Node::Opaque(
                            "a numpy scalar of a dtype this crate does not rebuild".into(),
                        ),
                    }
                }
                _ => Node::Opaque("a numpy scalar of an object dtype".into()),
            },
            _ => Node::Opaque(format!("a {module}.{name} object")),
        }
    }

    /// Node `target` given `state` (BUILD).
    fn build(&self, target: usize, state: usize) -> Node {
        let items: &[usize] = match &self.nodes[state] {
            Node::Tuple(items) => items,
            _ => &[],
        };
        let item = |i: usize| items.get(i).map(|&a| &self.nodes[a]);
        match &self.nodes[target] {
            Node::Placeholder(None) => Node::Placeholder(self.placeholder_filename(state)),
            // (version 3, byte order, subarray, names, fields, elsize, alignment, flags): only
            // plain dtypes (no subarray, no fields; version 4 carries datetime metadata).
            Node::Dtype { base, built: None } => {
                match (item(0), item(1), item(2), item(3), item(4), item(5)) {
                    (
                        Some(Node::Int(3)),
                        Some(Node::Str(order)),
                        Some(Node::None),
                        Some(Node::None),
                        Some(Node::None),
                        Some(Node::Int(elsize)),
                    ) => Node::Dtype {
                        base: base.clone(),
                        built: Some((order.clone(), *elsize)),
                    },
                    _ => Node::Opaque(format!(
                        "a numpy dtype {base} with fields, a subarray or metadata"
                    )),
                }
            }
            // (version, shape, dtype, Fortran order, raw data).
            Node::ArrayStub => match (item(1), item(2), item(3), item(4)) {
                (
                    Some(Node::Tuple(dims)),
                    Some(dtype),
                    Some(Node::Bool(fortran)),
                    Some(Node::Bytes(data)),
                ) => {
                    let shape: Option<Vec<u64>> = (dims.iter())
                        .map(|&d| match &self.nodes[d] {
                            Node::Int(d) => u64::try_from(*d).ok(),
                            _ => None,
                        })
                        .collect();
                    match (shape, descr_of(dtype)) {
                        (Some(shape), Some(descr)) => Node::Array(NdArray {
                            descr,
                            shape,
                            fortran: *fortran,
                            data: data.clone(),
                        }),
                        _ => Node::Opaque(
                            "a numpy array of a dtype this crate does not rebuild".into(),
                        ),
                    }
                }
                _ => Node::Opaque("a numpy array of objects".into()),
            },
            Node::Opaque(what) => Node::Opaque(what.clone()),
            node => Node::Opaque(format!("{} given a state", what(node))),
        }
    }

    /// A placeholder's state: a dict (or `(dict, slots)`) with a string `filename`.
    fn placeholder_filename(&self, state: usize) -> Option<String> {
        let dict = match &self.nodes[state] {
            Node::Tuple(items) if !items.is_empty() => &self.nodes[items[0]],
            node => node,
        };
        let Node::Dict(pairs) = dict else {
            return None;
        };
        pairs
            .iter()
            .find_map(|&(k, v)| match (&self.nodes[k], &self.nodes[v]) {
                (Node::Str(k), Node::Str(v)) if k == "filename" => Some(v.clone()),
                _ => None,
            })
    }
}

/// The numpy descr of a built plain dtype: the base's kind and size, the state's byte order
/// (`=` is this machine's), a string type's size from the state's item size.
fn descr_of(dtype: &Node) -> Option<String> {
    let Node::Dtype {
        base,
        built: Some((order, elsize)),
    } = dtype
    else {
        return None;
    };
    let kind = base.chars().next()?;
    let order = match order.as_str() {
        "=" if cfg!(target_endian = "big") => ">",
        "=" => "<",
        o @ ("<" | ">" | "|") => o,
        _ => return None,
    };
    let descr = match kind {
        'U' => format!("{order}U{}", elsize / 4),
        'S' | 'V' => format!("|{kind}{elsize}"),
        'O' | 'M' | 'm' => return None,
        _ => format!("{order}{base}"),
    };
    npy_format::DType::parse(&descr).ok().map(|_| descr)
}

/// What a node is, for messages.
fn what(node: &Node) -> String {
    match node {
        Node::None => "None".into(),
        Node::Bool(_) => "a bool".into(),
        Node::Int(_) => "an int".into(),
        Node::Float(_) => "a float".into(),
        Node::Str(_) => "a str".into(),
        Node::List(_) => "a list".into(),
        Node::Tuple(_) => "a tuple".into(),
        Node::Dict(_) => "a dict".into(),
        Node::Global(m, n) => format!("the global {m}.{n}"),
        Node::Placeholder(_) => "a Varpack NumpyArrayPlaceholder".into(),
        Node::Bytes(_) => "bytes".into(),
        Node::Dtype { base, .. } => format!("a numpy dtype {base}"),
        Node::ArrayStub => "a numpy array without its data".into(),
        Node::Array(_) => "a numpy array".into(),
        Node::Opaque(what) => what.clone(),
    }
}

/// Deeper nesting than this is refused (a list holding itself never ends).
const MAX_DEPTH: usize = 256;

impl Decoded {
    /// The root's entries, if it is a dict with string keys (Varpack's `__misc_vars__.pickle`).
    pub(super) fn root_entries(&self) -> Option<Vec<(&str, usize)>> {
        let Node::Dict(pairs) = &self.nodes[self.root] else {
            return None;
        };
        pairs
            .iter()
            .map(|&(k, v)| match &self.nodes[k] {
                Node::Str(k) => Some((k.as_str(), v)),
                _ => None,
            })
            .collect()
    }

    /// The root node.
    pub(super) fn root(&self) -> usize {
        self.root
    }

    /// Node `at` as a value of a pack: an array, a placeholder, or JSON.
    pub(super) fn plain(&self, at: usize) -> Result<Plain<'_>, String> {
        Ok(match &self.nodes[at] {
            Node::Placeholder(Some(file)) => Plain::Placeholder(file),
            Node::Placeholder(None) => {
                return Err("a NumpyArrayPlaceholder without a filename".into());
            }
            Node::Array(array) => Plain::Array(array),
            _ => Plain::Json(self.json(at)?),
        })
    }

    /// The first level of node `at` if it is a dict holding at least one array or placeholder
    /// (which become a [`Dict`](crate::Dict)'s arrays): each entry's key and value.
    pub(super) fn array_dict(&self, at: usize) -> Option<Result<Vec<(String, Plain<'_>)>, String>> {
        let Node::Dict(pairs) = &self.nodes[at] else {
            return None;
        };
        let has_array = |&(_, v): &(usize, usize)| {
            matches!(self.nodes[v], Node::Placeholder(_) | Node::Array(_))
        };
        if !pairs.iter().any(has_array) {
            return None;
        }
        let entries = pairs.iter().map(|&(k, v)| {
            let Node::Str(key) = &self.nodes[k] else {
                return Err(format!(
                    "a dict key that is {}, not a str",
                    what(&self.nodes[k])
                ));
            };
            let item = self.plain(v).map_err(|e| format!("key '{key}': {e}"))?;
            Ok((key.clone(), item))
        });
        Some(entries.collect())
    }

    /// Node `at` as JSON: `Err(why)` if it holds something JSON cannot (an opaque object, a
    /// float that is not finite, a non-string dict key).
    pub(super) fn json(&self, at: usize) -> Result<serde_json::Value, String> {
        // Each node visited counts; a value shared many times over stops here.
        let mut budget = self.nodes.len().saturating_mul(16).max(1 << 16);
        self.json_at(at, 0, &mut budget)
    }

    fn json_at(
        &self,
        at: usize,
        depth: usize,
        budget: &mut usize,
    ) -> Result<serde_json::Value, String> {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            return Err(format!(
                "nested deeper than {MAX_DEPTH} levels (or holding itself)"
            ));
        }
        *budget = budget
            .checked_sub(1)
            .ok_or("a value shared so many times it would not fit in memory")?;
        let items = |ids: &[usize], budget: &mut usize| -> Result<J, String> {
            ids.iter()
                .map(|&i| self.json_at(i, depth + 1, budget))
                .collect::<Result<Vec<_>, _>>()
                .map(J::Array)
        };
        Ok(match &self.nodes[at] {
            Node::None => J::Null,
            Node::Bool(b) => J::Bool(*b),
            Node::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
                (Ok(i), _) => J::from(i),
                (_, Ok(u)) => J::from(u),
                _ => return Err(format!("holds the integer {i}, wider than JSON's 64 bits")),
            },
            Node::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .ok_or_else(|| format!("holds the float {f}, which JSON cannot hold"))?,
            Node::Str(s) => J::String(s.clone()),
            Node::List(ids) | Node::Tuple(ids) => items(ids, budget)?,
            Node::Dict(pairs) => {
                let mut map = serde_json::Map::new();
                for &(k, v) in pairs {
                    let Node::Str(key) = &self.nodes[k] else {
                        return Err(format!(
                            "a dict key that is {}, not a str",
                            what(&self.nodes[k])
                        ));
                    };
                    map.insert(key.clone(), self.json_at(v, depth + 1, budget)?);
                }
                J::Object(map)
            }
            Node::Array(_) => {
                return Err("holds a numpy array inside a list or a nested dict, which this crate stores only at the first level".into());
            }
            node @ (Node::Global(..)
            | Node::Placeholder(_)
            | Node::Opaque(_)
            | Node::Bytes(_)
            | Node::Dtype { .. }
            | Node::ArrayStub) => {
                return Err(format!("holds {}, which only Python rebuilds", what(node)));
            }
        })
    }
}
