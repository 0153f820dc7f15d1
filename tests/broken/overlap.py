"""A plugin reusing the toy expert's name for a problem set that overlaps the toy plugin's."""
from wrbench import hookimpl
from wrbench.api import Expert

WRBENCH_API_VERSION = "1.0"


class OverlappingExpert(Expert):
    name = "toy_expert"
    problems = ("toy_noflat", "elsewhere")


@hookimpl
def register_experts(register):
    register(OverlappingExpert)
