"""Frames as two captures match them: py-spy's frame text, files normalised across checkouts."""

from __future__ import annotations

from perfkit_profile._frames import Frame, normalize_file, parse_frame


def test_python_frame_with_a_full_path() -> None:
    frame = parse_frame("route (/x/site-packages/perfkit_runtime/_router.py:40)")
    assert frame == Frame("route", "/x/site-packages/perfkit_runtime/_router.py", 40)
    assert frame.key == ("route", "perfkit_runtime/_router.py")
    assert frame.label == "route (perfkit_runtime/_router.py:40)"


def test_frames_that_are_not_plain_files() -> None:
    frozen = parse_frame("_find_and_load (<frozen importlib._bootstrap>:1165)")
    assert frozen == Frame("_find_and_load", "<frozen importlib._bootstrap>", 1165)
    assert frozen.key == ("_find_and_load", "<frozen importlib._bootstrap>")
    native = parse_frame("0x7f878664524a (libc.so.6)")
    assert native == Frame("0x7f878664524a", "libc.so.6", None)
    assert native.label == "0x7f878664524a (libc.so.6)"
    # An unnamed native frame's address moves between processes: the library is its identity.
    assert native.key == parse_frame("0x7f0000000001 (libc.so.6)").key == ("0x?", "libc.so.6")
    assert parse_frame("bare") == Frame("bare", "", None)
    assert parse_frame("bare").label == "bare"
    # A path with colons, spaces and parentheses: the first " (" starts the location.
    odd = parse_frame("f (C:/My Project (copy)/c.py:3)")
    assert odd == Frame("f", "C:/My Project (copy)/c.py", 3)


def test_the_line_is_not_part_of_the_key() -> None:
    base = parse_frame("tell (/tmp/base/benchmarks/mt.py:10)")
    head = parse_frame("tell (/work/main/benchmarks/mt.py:14)")
    assert base.key == head.key == ("tell", "benchmarks/mt.py")
    assert base.label != head.label


def test_files_match_across_checkouts_and_environments() -> None:
    site = "/tmp/base/.nox/profile/lib/python3.11/site-packages/perfkit_runtime/_router.py"
    src = "/work/main/packages/runtime/src/perfkit_runtime/_router.py"
    assert normalize_file(site) == normalize_file(src) == "perfkit_runtime/_router.py"
    assert normalize_file("/usr/lib/python3.11/asyncio/events.py") == "asyncio/events.py"
    assert normalize_file("C:\\x\\benchmarks\\y.py") == "benchmarks/y.py"
    assert normalize_file("<frozen runpy>") == "<frozen runpy>"
