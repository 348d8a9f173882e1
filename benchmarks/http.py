"""``python benchmarks/http.py``: the HTTP API benchmark, whose code is in ``api.py``.

A module of ours called ``http`` would hide the standard library's ``http``
from everything the benchmark imports, so this file only starts ``api.py``,
with its own directory moved behind the standard library on ``sys.path``.
"""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.append(str(HERE))
runpy.run_path(str(HERE / "api.py"), run_name="__main__")
