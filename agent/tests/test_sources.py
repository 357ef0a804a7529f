import socket
import sys
import threading
import time

import pytest

from simcoach_agent.sources import SharedMemoryUnavailable, UnknownGame, detect_game, open_source


def test_it_names_the_choices_for_an_unknown_game() -> None:
    with pytest.raises(UnknownGame, match="unknown game 'gt7'.*acc, r3e, lmu, rf2, ams2, demo"):
        open_source("gt7")


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
@pytest.mark.parametrize("game", ["acc", "r3e", "lmu", "rf2"])
def test_it_says_shared_memory_needs_windows(game: str) -> None:
    with pytest.raises(SharedMemoryUnavailable, match="needs Windows"):
        open_source(game)


def test_it_opens_ams2_over_udp() -> None:
    src = open_source("ams2", transport="udp", udp_port=0, host="127.0.0.1")
    try:
        assert src.game == "ams2" and src.read() is None
    finally:
        src.close()


def test_it_detects_ams2_from_arriving_udp_packets() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    stop = threading.Event()

    def send() -> None:
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not stop.is_set():
            tx.sendto(bytes(24), ("127.0.0.1", port))
            time.sleep(0.01)
        tx.close()

    thread = threading.Thread(target=send)
    thread.start()
    try:
        assert detect_game(udp_port=port, udp_wait=2.0, host="127.0.0.1") == "ams2"
    finally:
        stop.set()
        thread.join()


def test_it_detects_nothing_when_no_game_runs() -> None:
    assert detect_game(udp_wait=0) is None
