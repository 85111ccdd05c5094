"""Four-letter words: answers compared by shape (keys, formats), not by counters."""

import re
from typing import Any

from zkrecipes.testing.differential import Differential
from zkrecipes.testing.targets import ZkTarget

SESSION_ID = re.compile(r"0x[0-9a-f]+")


def _keys(text: str, separator: str) -> list[str]:
    return [line.split(separator, 1)[0] for line in text.splitlines() if separator in line]


def _pairs(text: str, separator: str) -> dict[str, str]:
    return dict(line.split(separator, 1) for line in text.splitlines() if separator in line)


def _path_blocks(text: str) -> list[list[str]]:
    """wchp output as sorted blocks: a path line followed by its session lines."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("/"):
            blocks.append([line])
        elif line and blocks:
            blocks[-1].append(line)
    return sorted(blocks)


def test_ruok_isro_and_resets(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, str]:
        return {word: target.four_letter(word) for word in ("ruok", "isro", "crst", "srst")}

    observed = differential.run(scenario)
    assert observed == {
        "ruok": "imok",
        "isro": "rw",
        "crst": "Connection stats reset.\n",
        "srst": "Server stats reset.\n",
    }


def test_srvr_fields(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        target.client()
        text = target.four_letter("srvr")
        pairs = _pairs(text, ": ")
        return {
            "keys": _keys(text, ": "),
            "mode": pairs["Mode"],
            "version_prefix": pairs["Zookeeper version"][:6],
            "zxid_hex": re.fullmatch(r"0x[0-9a-f]+", pairs["Zxid"]) is not None,
            "latency_shape": re.fullmatch(r"\d+/[\d.]+/\d+", pairs["Latency min/avg/max"])
            is not None,
            "node_count_numeric": pairs["Node count"].isdigit(),
        }

    observed = differential.run(scenario)
    assert observed == {
        "keys": [
            "Zookeeper version",
            "Latency min/avg/max",
            "Received",
            "Sent",
            "Connections",
            "Outstanding",
            "Zxid",
            "Mode",
            "Node count",
        ],
        "mode": "standalone",
        "version_prefix": "3.8.0-",
        "zxid_hex": True,
        "latency_shape": True,
        "node_count_numeric": True,
    }


def test_stat_lists_clients(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.exists("/")
        text = target.four_letter("stat")
        lines = text.splitlines()
        client_lines = lines[lines.index("Clients:") + 1 : lines.index("")]
        return {
            "first": lines[0].split(":")[0],
            "clients_header": "Clients:" in lines,
            "client_line_shape": all(
                re.fullmatch(r" /127\.0\.0\.1:\d+\[\d\]\(queued=\d+,recved=\d+,sent=\d+\)", line)
                for line in client_lines
            ),
            "at_least_two_clients": len(client_lines) >= 2,
            "keys_after": _keys("\n".join(lines[lines.index("") :]), ": "),
        }

    observed = differential.run(scenario)
    assert observed["first"] == "Zookeeper version"
    assert observed["clients_header"] and observed["client_line_shape"]
    assert observed["at_least_two_clients"]
    assert observed["keys_after"][-1] == "Node count"


def test_mntr_key_names(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.create("/e", b"", ephemeral=True)
        pairs = _pairs(target.four_letter("mntr"), "\t")
        return {
            # Per-namespace keys carry the names of top-level nodes: not part of the format.
            "keys": sorted(key for key in pairs if not key.endswith("_per_namespace")),
            "state": pairs["zk_server_state"],
            "numeric": all(
                re.fullmatch(r"-?[\d.]+(E-?\d+)?", pairs[key]) is not None
                for key in pairs
                if key not in {"zk_version", "zk_server_state"}
            ),
        }

    observed = differential.run(scenario)
    assert observed["state"] == "standalone"
    for key in (
        "zk_version",
        "zk_avg_latency",
        "zk_max_latency",
        "zk_min_latency",
        "zk_packets_received",
        "zk_packets_sent",
        "zk_num_alive_connections",
        "zk_outstanding_requests",
        "zk_znode_count",
        "zk_watch_count",
        "zk_ephemerals_count",
        "zk_approximate_data_size",
        "zk_open_file_descriptor_count",
        "zk_max_file_descriptor_count",
    ):
        assert key in observed["keys"], key
    assert observed["numeric"]


def test_mntr_counts_follow_the_tree(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, int]:
        zk = target.client()
        before = _pairs(target.four_letter("mntr"), "\t")
        zk.create("/e1", b"", ephemeral=True)
        zk.create("/e2", b"", ephemeral=True)
        zk.create("/p", b"")
        after = _pairs(target.four_letter("mntr"), "\t")
        return {
            key: int(after[key]) - int(before[key])
            for key in ("zk_znode_count", "zk_ephemerals_count")
        }

    observed = differential.run(scenario)
    assert observed == {"zk_znode_count": 3, "zk_ephemerals_count": 2}


def test_conf_keys_and_values(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        pairs = _pairs(target.four_letter("conf"), "=")
        return {
            "keys": list(pairs),
            "values": {
                key: pairs[key]
                for key in ("tickTime", "maxClientCnxns", "minSessionTimeout", "maxSessionTimeout")
            },
            "port_matches": pairs["clientPort"] == str(target.port),
            "datadir_under_version_2": pairs["dataDir"].endswith("version-2"),
        }

    observed = differential.run(scenario)
    assert observed == {
        "keys": [
            "clientPort",
            "secureClientPort",
            "dataDir",
            "dataDirSize",
            "dataLogDir",
            "dataLogSize",
            "tickTime",
            "maxClientCnxns",
            "minSessionTimeout",
            "maxSessionTimeout",
            "clientPortListenBacklog",
            "serverId",
        ],
        "values": {
            "tickTime": "200",
            "maxClientCnxns": "60",
            "minSessionTimeout": "400",
            "maxSessionTimeout": "4000",
        },
        "port_matches": True,
        "datadir_under_version_2": True,
    }


def test_cons_fields(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client()
        zk.get_children("/")
        text = target.four_letter("cons")
        session_lines = [line for line in text.splitlines() if "sid=" in line]
        fields = re.findall(r"([a-z]+)=", session_lines[0]) if session_lines else []
        return {
            "fields": fields,
            "session_id_hex": bool(re.search(r"sid=0x[0-9a-f]+", text)),
            "ends_with_blank_line": text.endswith("\n\n"),
        }

    observed = differential.run(scenario)
    assert observed == {
        "fields": [
            "queued",
            "recved",
            "sent",
            "sid",
            "lop",
            "est",
            "to",
            "lcxid",
            "lzxid",
            "lresp",
            "llat",
            "minlat",
            "avglat",
            "maxlat",
        ],
        "session_id_hex": True,
        "ends_with_blank_line": True,
    }


def test_envi_keys(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        text = target.four_letter("envi")
        return {"first": text.splitlines()[0], "keys": _keys(text, "=")}

    observed = differential.run(scenario)
    assert observed["first"] == "Environment:"
    for key in ("zookeeper.version", "host.name", "os.name", "user.dir", "java.version"):
        assert key in observed["keys"], key


def test_dirs(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        pairs = _pairs(target.four_letter("dirs"), ": ")
        return {"keys": list(pairs), "numeric": all(v.isdigit() for v in pairs.values())}

    observed = differential.run(scenario)
    assert observed == {"keys": ["datadir_size", "logdir_size"], "numeric": True}


def test_watch_words_on_fresh_server(differential: Differential) -> None:
    """wchs, wchc, wchp and dump on a server whose only watches are this scenario's."""

    def scenario(target: ZkTarget) -> dict[str, Any]:
        zk = target.client(chroot=False)
        zk.create("/w1", b"")
        zk.create("/w2", b"")
        zk.create("/eph", b"", ephemeral=True)
        zk.get("/w1", watch=lambda event: None)
        zk.exists("/w2", watch=lambda event: None)
        zk.exists("/absent", watch=lambda event: None)
        zk.get_children("/w1", watch=lambda event: None)
        session = f"0x{zk.client_id[0]:x}"

        def scrub(text: str) -> str:
            return text.replace(session, "SESSION")

        dump = scrub(target.four_letter("dump"))
        return {
            "wchs": target.four_letter("wchs"),
            # Apache lists paths in hash-set order: compare the lines as a multiset.
            "wchc": sorted(scrub(target.four_letter("wchc")).splitlines()),
            "wchp": _path_blocks(scrub(target.four_letter("wchp"))),
            "dump_ephemerals": dump[dump.index("ephemeral nodes dump:") :].split(
                "Connections dump:"
            )[0],
            "dump_first_line": dump.splitlines()[0],
        }

    observed = differential.run_with_settings({}, scenario)
    # Only data and exists watches are listed: the child watch on /w1 is not.
    assert observed == {
        "wchs": "1 connections watching 3 paths\nTotal watches:3\n",
        "wchc": sorted(["", "SESSION", "\t/absent", "\t/w1", "\t/w2"]),
        "wchp": [["/absent", "\tSESSION"], ["/w1", "\tSESSION"], ["/w2", "\tSESSION"]],
        "dump_ephemerals": (
            "ephemeral nodes dump:\nSessions with Ephemerals (1):\nSESSION:\n\t/eph\n"
        ),
        "dump_first_line": "SessionTracker dump:",
    }


def test_whitelist_is_honoured(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        answers: dict[str, Any] = {
            word: target.four_letter(word) for word in ("ruok", "stat", "mntr")
        }
        answers["srvr_keys"] = _keys(target.four_letter("srvr"), ": ")
        return answers

    observed = differential.run_with_settings({"4lw.commands.whitelist": "ruok, srvr"}, scenario)
    assert observed["ruok"] == "imok"
    assert observed["srvr_keys"][0] == "Zookeeper version"
    assert observed["stat"] == "stat is not executed because it is not in the whitelist.\n"
    assert observed["mntr"] == "mntr is not executed because it is not in the whitelist.\n"


def test_unknown_word_closes_without_reply(differential: Differential) -> None:
    def scenario(target: ZkTarget) -> dict[str, Any]:
        return {
            "xxxx": target.four_letter("xxxx"),
            "server_still_fine": target.four_letter("ruok"),
        }

    observed = differential.run(scenario)
    assert observed == {"xxxx": "", "server_still_fine": "imok"}
