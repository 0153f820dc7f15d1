"""Diffusion policies: `gdm` (GNN DDPM of 2504.20277) and `cfg` (DiffSG's classifier-free guidance)."""
from wrbench import hookimpl

from .cfg import CFGSolver
from .gdm import GDMSolver
from .ugnn import UGNNSolver

WRBENCH_API_VERSION = "1.0"


@hookimpl
def register_solvers(register) -> None:
    register(GDMSolver)
    register(CFGSolver)
    register(UGNNSolver)
