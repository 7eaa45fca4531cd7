import gzip
import io
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apisight.errors import InputError
from apisight.sources import Source, expand, iter_line_chunks


def collect(data: bytes, chunk: int = 16, max_line: int = 1000):
    lines, too_long = [], []
    for piece in iter_line_chunks(io.BufferedReader(io.BytesIO(data)), chunk, max_line):
        frame, long_lines = piece.lines(max_line)
        lines += list(zip(frame["line_no"], frame["line"], strict=True))
        too_long += long_lines
    return lines, too_long


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a\nb\nc\n", [(1, "a"), (2, "b"), (3, "c")]),
        (b"a\nb\nc", [(1, "a"), (2, "b"), (3, "c")]),  # no final newline
        (b"a\r\nb\r\n", [(1, "a"), (2, "b")]),  # CRLF
        (b"a\n\n\nd\n", [(1, "a"), (4, "d")]),  # blank lines skipped but counted
        (b"x" * 40 + b"\ny\n", [(1, "x" * 40), (2, "y")]),  # line spans several chunks
        (b"\xff\xfeok\n", [(1, "\ufffd\ufffdok")]),  # invalid UTF-8 never stops a batch
    ],
)
def test_lines_are_numbered_across_chunks(data, expected):
    assert collect(data)[0] == expected


def test_over_long_line_is_reported_and_skipped_without_losing_neighbours():
    data = b"first\n" + b"z" * 5000 + b"\nthird\n" + b"w" * 3000 + b"\nfifth"
    lines, too_long = collect(data, chunk=64, max_line=100)
    assert lines == [(1, "first"), (3, "third"), (5, "fifth")]
    assert too_long == [2, 4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30), max_size=30),
       st.integers(min_value=1, max_value=50))
def test_every_non_blank_line_comes_back_once_in_order(lines, chunk):
    data = "\n".join(lines).encode()
    got, _ = collect(data, chunk=chunk, max_line=10_000)
    expected = [(i + 1, s) for i, s in enumerate(lines) if s]
    assert got == expected


def test_gzip_is_read_transparently(tmp_path):
    path = tmp_path / "access.log.gz"
    path.write_bytes(gzip.compress(b"one\ntwo\n"))
    with Source(str(path)).open() as stream:
        assert stream.read() == b"one\ntwo\n"
    assert Source(str(path)).head() == b"one\ntwo\n"


def test_expand_recurses_directories_and_rejects_missing_paths(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "2.log").write_text("x")
    (tmp_path / "1.log").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    found = expand([str(tmp_path)])
    assert [s.name for s in found] == [str(tmp_path / "1.log"), str(tmp_path / "a" / "2.log")]
    assert all(s.walked for s in found)
    with pytest.raises(InputError, match="nope.log"):
        expand([str(tmp_path / "1.log"), str(tmp_path / "nope.log")])


def test_concatenated_gzip_members_are_all_read(tmp_path):
    path = tmp_path / "rotated.gz"
    path.write_bytes(gzip.compress(b"a\nb\n") + gzip.compress(b"c\n"))
    with Source(str(path)).open() as stream:
        assert stream.read() == b"a\nb\nc\n"


def test_truncated_gzip_returns_what_decompressed_then_raises(tmp_path):
    payload = b"".join(b"line %d\n" % i for i in range(50_000))
    whole = gzip.compress(payload)
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with Source(str(path)).open() as stream:
        first = stream.read(10_000_000)
        assert 0 < len(first) < len(payload) and payload.startswith(first)
        with pytest.raises(EOFError):
            stream.read(10)


def test_bytes_are_counted_even_while_skipping_an_over_long_line():
    data = b"a\n" + b"z" * 500 + b"\nb\n"
    chunks = list(iter_line_chunks(io.BufferedReader(io.BytesIO(data)), 16, 100))
    assert sum(c.bytes_read for c in chunks) == len(data)


def test_gzip_with_an_empty_first_member_is_not_empty(tmp_path):
    path = tmp_path / "c.gz"
    path.write_bytes(gzip.compress(b"") + gzip.compress(b"x\ny\n"))
    assert Source(str(path)).head() == b"x\ny\n"


def test_a_pipe_is_sniffed_without_losing_its_first_lines(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    payload = b"".join(b"line %d\n" % i for i in range(100_000))
    writer = threading.Thread(target=lambda: fifo.write_bytes(payload))
    writer.start()
    source = Source(str(fifo))
    assert source.is_stream and source.size() is None
    assert source.head(1000).startswith(b"line 0\n")
    with source.open() as stream:
        assert stream.read() == payload
    writer.join()


def _bomb(path, megabytes: int) -> None:
    import gzip as gz

    with gz.open(path, "wb", compresslevel=9) as f:
        line = b'203.0.113.5 - - [20/Nov/2026:09:00:00 +0000] "GET /v1/ping HTTP/1.1" 200 2 "-" "app"\n'
        f.write(line * 100)  # real lines first
        zeros = b"0" * (1 << 20)
        for _ in range(megabytes):
            f.write(zeros)


def test_a_decompression_bomb_is_cut_off_and_what_came_before_is_kept(tmp_path):
    from apisight.sources import DecompressionLimitError, DecompressionLimits, Source

    bomb = tmp_path / "access.log.gz"
    _bomb(bomb, 200)  # 200 MiB of zeros in well under 1 MiB
    limits = DecompressionLimits(max_ratio=50, ratio_after=8 * 1024 * 1024)
    out = bytearray()
    with pytest.raises(DecompressionLimitError, match="expands more than 50 times"), \
            Source(str(bomb)).open(limits) as stream:
        while piece := stream.read(1 << 20):
            out += piece
    assert out.startswith(b"203.0.113.5") and 8 * 2**20 < len(out) < 40 * 2**20
    with pytest.raises(DecompressionLimitError, match="max_decompressed_bytes"), \
            Source(str(bomb)).open(DecompressionLimits(max_bytes=4 * 2**20)) as stream:
        while stream.read(1 << 20):
            pass


def test_a_bomb_in_a_run_is_reported_as_unreadable_and_the_good_lines_are_kept(tmp_path):
    from apisight.config import Settings
    from apisight.pipeline import RunRequest, analyze
    from apisight.readers.base import ReaderOptions
    from apisight.sources import DecompressionLimits

    bomb = tmp_path / "access.log.gz"
    _bomb(bomb, 100)
    options = ReaderOptions(decompression=DecompressionLimits(max_ratio=20, ratio_after=4 * 2**20))
    summary = analyze(RunRequest([str(bomb)], tmp_path / "d", Settings(), "nginx", options))
    assert summary["stored"] == 100
    reasons = [e["reason"] for e in summary["malformed"]["examples"]]
    assert any("decompression bomb" in r for r in reasons)
