"""Property test over every reader: truncated, corrupted and header-mutated versions of valid
files either load or raise InputError -- never another exception, never a huge allocation."""

from __future__ import annotations

import re
import shutil

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import io_corpus as C  # noqa: E402
from glmip.io import InputError, load  # noqa: E402
from glmip.io import registry  # noqa: E402
from glmip.volume import Volume  # noqa: E402

KINDS = ["nii", "nii.gz", "mha", "mha-zlib", "mhd", "nrrd", "nrrd-raw", "vtk", "vtk-ascii",
         "vti", "npy", "npz", "tif", "png", "dcm"]
EXAMPLES = 250  # per format: ~3750 inputs in all, ~10 s


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    files = C.valid_files(d)
    yield files
    shutil.rmtree(d, ignore_errors=True)


_NUM = re.compile(rb"-?\d+(\.\d+)?")


def mutate(data: bytes, draw) -> bytes:
    op = draw(st.sampled_from(["truncate", "overwrite", "insert", "number", "delete"]))
    n = len(data)
    if op == "truncate":
        return data[: draw(st.integers(0, max(n - 1, 0)))]
    if op == "overwrite":
        pos = draw(st.integers(0, max(n - 1, 0)))
        junk = draw(st.binary(min_size=1, max_size=16))
        return data[:pos] + junk + data[pos + len(junk):]
    if op == "insert":
        pos = draw(st.integers(0, n))
        return data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[pos:]
    if op == "delete":
        pos = draw(st.integers(0, max(n - 1, 0)))
        return data[:pos] + data[pos + draw(st.integers(1, 64)):]
    # replace a number in the header with another (dims, sizes, offsets, types, ...)
    head = data[:1024]
    nums = list(_NUM.finditer(head))
    if not nums:
        return data
    m = nums[draw(st.integers(0, len(nums) - 1))]
    new = draw(st.sampled_from([b"0", b"-1", b"1", b"2", b"3", b"7", b"255", b"65536",
                                b"4294967296", b"99999999999", b"1e308", b"nan", b"-0.0",
                                b"3.5"]))
    return data[: m.start()] + new + data[m.end():]


@pytest.mark.parametrize("kind", KINDS)
def test_readers_fail_only_with_input_error(corpus, kind, monkeypatch, capfd):
    # Keep allocations small whatever a mutated header says (the guards must hold anyway).
    monkeypatch.setattr(registry, "MAX_BYTES", 1 << 28)
    path = corpus[kind]
    target = path
    original = target.read_bytes()
    load_path = path.parent if kind == "dcm" else path

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data):
        target.write_bytes(mutate(original, data.draw))
        try:
            vol = load(load_path)
        except InputError as exc:
            msg = str(exc)
            assert "\n" not in msg and str(load_path) in msg
        else:
            assert isinstance(vol, Volume)
        finally:
            target.write_bytes(original)

    check()
    assert capfd.readouterr().err == ""  # libraries' warnings and logs stay quiet
