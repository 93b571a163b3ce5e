# Type stub of the compiled module fastrnn._kernels._rnn (private: called only by
# fastrnn._engine).  Deliberately generic: the kernels' functions change with them.
from typing import Any, Dict, Tuple

#: Cell kind name -> (kernel code, number of gate blocks).
CELLS: Dict[str, Tuple[int, int]]
#: Activation name -> kernel code.
ACTIVATIONS: Dict[str, int]

def run_sequence(*args: Any, **kwargs: Any) -> Any: ...
def __getattr__(name: str) -> Any: ...
