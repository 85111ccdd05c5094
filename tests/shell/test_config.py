"""zoo.cfg parsing: Apache's keys and defaults, and clear errors naming key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from zkserver.config import ConfigError, load_zoo_cfg, parse_zoo_cfg

APACHE_SAMPLE = """\
# The number of milliseconds of each tick
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
maxClientCnxns=60
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
4lw.commands.whitelist=ruok, srvr,mntr
admin.enableServer=false
server.1=zk1.example.com:2888:3888
server.2=10.0.0.2:2888:3888:observer;2181
server.3=[::1]:2888:3888;127.0.0.1:2182
"""


def test_apache_sample_parses_with_apache_defaults() -> None:
    cfg = parse_zoo_cfg(APACHE_SAMPLE)
    assert cfg.tick_time_ms == 2000
    assert cfg.data_dir == Path("/var/lib/zookeeper")
    assert cfg.log_dir == Path("/var/lib/zookeeper")
    assert (cfg.min_session_timeout, cfg.max_session_timeout) == (4000, 40000)
    assert cfg.four_letter_words == frozenset({"ruok", "srvr", "mntr"})
    assert cfg.autopurge_purge_interval_hours == 1
    assert cfg.jute_maxbuffer_bytes == 0xFFFFF
    assert sorted(cfg.servers) == [1, 2, 3]
    s2 = cfg.servers[2]
    assert (s2.host, s2.quorum_port, s2.election_port, s2.role, s2.client_port) == (
        "10.0.0.2",
        2888,
        3888,
        "observer",
        2181,
    )
    s3 = cfg.servers[3]
    assert (s3.host, s3.client_address, s3.client_port) == ("::1", "127.0.0.1", 2182)


def test_whitelist_star_means_every_word() -> None:
    cfg = parse_zoo_cfg("dataDir=/d\n4lw.commands.whitelist=*\n")
    assert {"ruok", "mntr", "wchc", "dump"} <= cfg.four_letter_words


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("dataDir=/d\ntickTme=2000\n", "tickTme", 2),
        ("dataDir=/d\n\nclientPort=abc\n", "clientPort", 3),
        ("dataDir=/d\nclientPort=70000\n", "clientPort", 2),
        ("dataDir=/d\nserver.1=host-without-ports\n", "server.1", 2),
        ("dataDir=/d\nskipACL=maybe\n", "skipACL", 2),
        ("dataDir=/d\n4lw.commands.whitelist=ruok,bogus\n", "4lw.commands.whitelist", 2),
        ("dataDir=/d\npeerType=leader\n", "peerType", 2),
    ],
)
def test_bad_keys_name_key_and_line(text: str, key: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_zoo_cfg(text)
    assert info.value.key == key
    assert info.value.line == line
    assert f"line {line}: {key}:" in str(info.value)


def test_missing_data_dir_and_inconsistent_timeouts_are_errors() -> None:
    with pytest.raises(ConfigError, match="dataDir"):
        parse_zoo_cfg("clientPort=2181\n")
    with pytest.raises(ConfigError, match="minSessionTimeout"):
        parse_zoo_cfg("dataDir=/d\nminSessionTimeout=5000\nmaxSessionTimeout=4000\n")
    with pytest.raises(ConfigError, match="initLimit"):
        parse_zoo_cfg("dataDir=/d\nsyncLimit=2\nserver.1=a:1:2\n")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_zoo_cfg(tmp_path / "nope.cfg")


def test_properties_syntax_variants() -> None:
    cfg = parse_zoo_cfg("! comment\ndataDir : /x\nclientPort 2200\ntickTime=  100  \n")
    assert (cfg.data_dir, cfg.client_port, cfg.tick_time_ms) == (Path("/x"), 2200, 100)
