"""Type stubs of array_files._closing: the base of every writer and reader of the package
(``with obj:`` closes ``obj``)."""

from types import TracebackType
from typing import Literal, NoReturn

from typing_extensions import Self

class Closing:
    # Subclasses return what their close returns (MemberWriter.close: the member's shape).
    def close(self) -> object: ...
    def __enter__(self) -> Self: ...
    # The exception is never suppressed.
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> Literal[False]: ...
    def __del__(self) -> None: ...

class Closed:
    path: str
    def __init__(self, what: str, path: str) -> None: ...
    def __getattr__(self, name: str) -> NoReturn: ...
