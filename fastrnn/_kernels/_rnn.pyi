# Type stub of the compiled module fastrnn._kernels._rnn (private: called by
# fastrnn._engine, fastrnn._packing and fastrnn._threads).
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

#: Cell kind name -> (kernel code, number of gate blocks).
CELLS: Dict[str, Tuple[int, int]]
#: Activation name -> kernel code.
ACTIVATIONS: Dict[str, int]
#: Instruction-set variants, lowest first.
ISAS: Tuple[str, ...]
#: Byte alignment of packed weights and workspaces.
ALIGNMENT: int

class StepArgumentError(ValueError): ...

class StepPlan:
    type_num: int
    n_states: int
    def __init__(self, cell: int, act: int, rec_act: int, w: np.ndarray, u: np.ndarray,
                 u_h: Optional[np.ndarray], bias: np.ndarray, rbias: Optional[np.ndarray],
                 units: int, features: int, zero_output_for_mask: bool) -> None: ...
    def step(self, x: Any, states: List[np.ndarray], mask: Optional[np.ndarray],
             out: Optional[List[np.ndarray]]) -> Tuple[np.ndarray, List[np.ndarray]]: ...

def panel_units(itemsize: int) -> int: ...
def workspace_bytes(cell: int, itemsize: int, units: int, features: int, rows: int,
                    chunk: int) -> int: ...
def isa() -> str: ...
def best_isa() -> str: ...
def select_isa(name: Optional[str]) -> str: ...
def omp_max_threads() -> int: ...
def run_sequence(*args: Any, **kwargs: Any) -> None: ...
