"""Reading Apache's JAAS files: where the file is found, its syntax, the users it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from zkserver.jaas import JaasError, locate_jaas_file, parse_jaas, server_sasl_users
from zkserver.security_settings import SecuritySettings

FULL = """\
// Apache's example, with both comment styles and a client section.
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule Required
    user_super="adminsecret"   /* the super user */
    user_bob="bob\\"s secret"
    debug=true;
};
Client {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="bob"
    password="bob's secret";
};
"""


def settings_for(path: Path | None, **values: object) -> SecuritySettings:
    settings = SecuritySettings(jaas_config=path)
    for key, value in values.items():
        setattr(settings, key, value)
    return settings


def test_server_section_users(tmp_path: Path) -> None:
    path = tmp_path / "jaas.conf"
    path.write_text(FULL)
    assert server_sasl_users(settings_for(path), environ={}) == {
        "super": "adminsecret",
        "bob": 'bob"s secret',
    }
    sections = parse_jaas(FULL, path)
    assert sorted(sections) == ["Client", "Server"]
    assert sections["Server"][0].flag == "REQUIRED"
    assert sections["Client"][0].options == {"username": "bob", "password": "bob's secret"}


def test_another_section_by_sasl_serverconfig(tmp_path: Path) -> None:
    path = tmp_path / "jaas.conf"
    path.write_text(FULL.replace("Client {", "ZkServer {").replace("username", "user_carol"))
    users = server_sasl_users(settings_for(path, jaas_section="ZkServer"), environ={})
    assert users == {"carol": "bob"}


def test_no_server_section_means_no_sasl(tmp_path: Path) -> None:
    path = tmp_path / "jaas.conf"
    path.write_text(FULL.replace("Server {", "Other {"))
    assert server_sasl_users(settings_for(path), environ={}) is None
    assert server_sasl_users(settings_for(None), environ={}) is None


def test_super_password_replaces_the_super_users_password(tmp_path: Path) -> None:
    path = tmp_path / "jaas.conf"
    path.write_text(FULL)
    users = server_sasl_users(settings_for(path, sasl_super_password="override"), environ={})
    assert users is not None and users["super"] == "override" and users["bob"] == 'bob"s secret'


def test_located_as_zkserver_sh_passes_it(tmp_path: Path) -> None:
    first, second = tmp_path / "a.conf", tmp_path / "b.conf"
    flags = f"-Xmx1g -Djava.security.auth.login.config={first}"
    assert locate_jaas_file(settings_for(None), {"SERVER_JVMFLAGS": flags}) == first
    # zkServer.sh puts JVMFLAGS after SERVER_JVMFLAGS: the later flag wins.
    environ = {"SERVER_JVMFLAGS": flags, "JVMFLAGS": f"-Djava.security.auth.login.config={second}"}
    assert locate_jaas_file(settings_for(None), environ) == second
    # The setting given to the server itself comes first.
    assert locate_jaas_file(settings_for(first), environ) == first
    assert locate_jaas_file(settings_for(None), {"JVMFLAGS": f"-D{'x'}=1"}) is None
    assert locate_jaas_file(settings_for(None), {}) is None
    url = f"-Djava.security.auth.login.config=file://{second}"
    assert locate_jaas_file(settings_for(None), {"JVMFLAGS": url}) == second


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('Server {\n  org.Module required\n  user_a="x";\n', "line 4"),
        ("Server {\n  org.Module sometimes;\n};\n", "invalid control flag"),
        ("Server {\n  org.Module required user_a=;\n};\n", 'user_a="..."'),
        ('Server {\n  org.Module required user_a="${no.such.property}";\n};\n', "expand"),
        ("Server { };\nServer { };\n", "given twice"),
    ],
)
def test_syntax_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "jaas.conf"
    path.write_text(text)
    with pytest.raises(JaasError) as raised:
        server_sasl_users(settings_for(path), environ={})
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_unreadable_file_and_foreign_modules_are_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.conf"
    with pytest.raises(JaasError, match="cannot read"):
        server_sasl_users(settings_for(missing), environ={})
    other = tmp_path / "ldap.conf"
    other.write_text('Server {\n  com.example.LdapLoginModule required url="ldap://x";\n};\n')
    with pytest.raises(JaasError, match="LdapLoginModule"):
        server_sasl_users(settings_for(other), environ={})
