"""The JAAS login configuration file Apache ZooKeeper reads its SASL users from.

Apache finds the file through the Java system property ``java.security.auth.login.config``
(here: the same zoo.cfg key or ``--set``, else a ``-D`` flag in ``SERVER_JVMFLAGS`` or
``JVMFLAGS``, as zkServer.sh passes them) and reads the section named by
``zookeeper.sasl.serverconfig`` (default ``Server``)::

    Server {
        org.apache.zookeeper.server.auth.DigestLoginModule required
        user_bob="bobsecret"
        user_super="adminsecret";
    };

Every ``user_NAME="password"`` option of the section is a DIGEST-MD5 user. As in Apache, a
file that cannot be read or parsed stops the server; a file without the section means no SASL
(every SASL request is answered with OK and no token). Kerberos (GSSAPI) is not supported.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zkserver.config import ConfigError
from zkserver.security_settings import SecuritySettings

log = logging.getLogger("zkserver")

JAAS_PROPERTY = "java.security.auth.login.config"
# zkServer.sh puts SERVER_JVMFLAGS before JVMFLAGS: the later -D wins.
JVM_FLAG_VARIABLES = ("SERVER_JVMFLAGS", "JVMFLAGS")
DIGEST_MODULE = "org.apache.zookeeper.server.auth.DigestLoginModule"
KERBEROS_MODULE = "com.sun.security.auth.module.Krb5LoginModule"
USER_PREFIX = "user_"
CONTROL_FLAGS = ("REQUIRED", "REQUISITE", "SUFFICIENT", "OPTIONAL")
# Java's PropertyExpander in option values: only these properties have a meaning here.
_PROPERTY_REF = re.compile(r"\$\{([^}]*)\}")


class JaasError(ConfigError):
    """A JAAS file that cannot be used, naming the file and, for syntax errors, the line."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        where = f"{path}" if line is None else f"{path}, line {line}"
        super().__init__(f"{where}: {message}", JAAS_PROPERTY)


@dataclass(frozen=True)
class LoginModule:
    class_name: str
    flag: str
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "number", "char" or "eof"
    text: str
    line: int


_WORD_PUNCT = "$_*"
_DIGITS = "0123456789"


def _starts_number(c: str, following: str) -> bool:
    """A digit, '.', or '-' before a digit or '.' starts a number in StreamTokenizer."""
    return c in _DIGITS or c == "." or (c == "-" and following != "" and following in _DIGITS + ".")


def _is_word_start(c: str) -> bool:
    return (c.isascii() and c.isalpha()) or c in _WORD_PUNCT or ord(c) >= 0xA0


def _is_word_part(c: str) -> bool:
    return _is_word_start(c) or c in _DIGITS or c in ".-"


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class _Tokenizer:
    """Java's StreamTokenizer as the JDK's ConfigFile sets it up: words of letters, digits,
    '.', '-', '$', '_', '*'; double-quoted strings with backslash escapes (ending at the end
    of a line if unclosed); '//', '/*...*/' and lone '/' comments; numbers are their own kind
    (ConfigFile accepts none)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def _peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def _advance(self) -> str:
        c = self.text[self.pos]
        self.pos += 1
        if c == "\n":
            self.line += 1
        return c

    def _skip_to_line_end(self) -> None:
        while self._peek() not in ("", "\n", "\r"):
            self._advance()

    def _skip_block_comment(self) -> None:
        self._advance()
        self._advance()
        while self._peek() and not (self._peek() == "*" and self._peek(1) == "/"):
            self._advance()
        if self._peek():
            self._advance()
            self._advance()

    def next(self) -> _Token:
        while True:
            c = self._peek()
            if c == "":
                return _Token("eof", "", self.line)
            if c <= " ":
                self._advance()
            elif c == "/" and self._peek(1) == "*":
                self._skip_block_comment()
            elif c == "/":
                self._skip_to_line_end()
            else:
                break
        line = self.line
        if _starts_number(c, self._peek(1)):
            start = self.pos
            self._advance()
            while self._peek() and (self._peek() in _DIGITS or self._peek() == "."):
                self._advance()
            return _Token("number", self.text[start : self.pos], line)
        if _is_word_start(c):
            start = self.pos
            while self._peek() and _is_word_part(self._peek()):
                self._advance()
            return _Token("word", self.text[start : self.pos], line)
        if c == '"':
            return self._string(line)
        self._advance()
        return _Token("char", c, line)

    def _string(self, line: int) -> _Token:
        self._advance()
        out: list[str] = []
        while True:
            c = self._peek()
            if c in ("", "\n", "\r"):
                break
            self._advance()
            if c == '"':
                break
            if c == "\\" and self._peek():
                e = self._advance()
                if e in "01234567":
                    digits = e
                    while len(digits) < (3 if e <= "3" else 2) and self._peek() in "01234567":
                        digits += self._advance()
                    out.append(chr(int(digits, 8)))
                else:
                    out.append(_ESCAPES.get(e, e))
            else:
                out.append(c)
        return _Token("string", "".join(out), line)


class _Parser:
    def __init__(self, text: str, path: Path) -> None:
        self.tokens = _Tokenizer(text)
        self.path = path
        self.look = self.tokens.next()

    def error(self, message: str) -> JaasError:
        return JaasError(self.path, message, self.look.line)

    def _found(self) -> str:
        t = self.look
        return "the end of the file" if t.kind == "eof" else repr(t.text)

    def value(self, what: str) -> str:
        if self.look.kind not in ("word", "string"):
            raise self.error(f"expected {what}, found {self._found()}")
        text = self.look.text
        self.look = self.tokens.next()
        return text

    def expect(self, char: str) -> None:
        if self.look.kind != "char" or self.look.text != char:
            raise self.error(f"expected '{char}', found {self._found()}")
        self.look = self.tokens.next()

    def at(self, char: str) -> bool:
        return self.look.kind == "char" and self.look.text == char

    def sections(self) -> dict[str, list[LoginModule]]:
        sections: dict[str, list[LoginModule]] = {}
        while self.look.kind != "eof":
            line = self.look.line
            name = self.value("a section name")
            self.expect("{")
            modules = []
            while not self.at("}"):
                modules.append(self.module())
            self.expect("}")
            self.expect(";")
            if name in sections:
                raise JaasError(self.path, f"section {name!r} is given twice", line)
            sections[name] = modules
        return sections

    def module(self) -> LoginModule:
        line = self.look.line
        class_name = self.value("a login module class name")
        flag = self.value("a control flag").upper()
        if flag not in CONTROL_FLAGS:
            raise JaasError(
                self.path,
                f"invalid control flag {flag!r} (expected one of {', '.join(CONTROL_FLAGS)})",
                line,
            )
        options: dict[str, str] = {}
        while not self.at(";"):
            key = self.value("an option name")
            self.expect("=")
            value_line = self.look.line
            raw = self.value(f'a quoted value for option {key}: {key}="..."')
            try:
                options[key] = _expand(raw)
            except ValueError as e:
                raise JaasError(self.path, f"option {key}: {e}", value_line) from None
        self.expect(";")
        return LoginModule(class_name, flag, options, line)


def _expand(value: str) -> str:
    """Java's PropertyExpander for the few properties that make sense here."""

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        known = {
            "/": os.sep,
            "user.home": str(Path.home()),
            "user.dir": os.getcwd(),
            "user.name": os.environ.get("USER", ""),
        }
        if name not in known:
            raise ValueError(f"cannot expand ${{{name}}}")
        return known[name]

    return _PROPERTY_REF.sub(replace, value)


def parse_jaas(text: str, path: Path) -> dict[str, list[LoginModule]]:
    """The sections of a JAAS file; JaasError names the line of a syntax error."""
    return _Parser(text, path).sections()


def _jvm_flag_values(environ: Mapping[str, str], name: str) -> Iterator[str]:
    prefix = f"-D{name}="
    for variable in JVM_FLAG_VARIABLES:
        try:
            words = shlex.split(environ.get(variable, ""))
        except ValueError:
            words = environ.get(variable, "").split()
        for word in words:
            if word.startswith(prefix):
                yield word[len(prefix) :]


def locate_jaas_file(security: SecuritySettings, environ: Mapping[str, str]) -> Path | None:
    """The JAAS file Apache would read: the configured property, else the last
    ``-Djava.security.auth.login.config=`` in SERVER_JVMFLAGS then JVMFLAGS."""
    raw: str | None = str(security.jaas_config) if security.jaas_config is not None else None
    if raw is None:
        raw = next(reversed(list(_jvm_flag_values(environ, JAAS_PROPERTY))), None)
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    # "==path" means "only this file" to Java; "file:" URLs name a path.
    raw = raw.removeprefix("=")
    if raw.startswith("file:"):
        raw = "/" + raw[len("file:") :].lstrip("/")
    return Path(raw)


def server_sasl_users(
    security: SecuritySettings, environ: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """The DIGEST-MD5 users of the server's JAAS section, or None when there is no SASL
    server (no JAAS file, or no such section in it). Raises JaasError for a file that cannot
    be read or parsed, and for login modules other than DigestLoginModule."""
    path = locate_jaas_file(security, os.environ if environ is None else environ)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise JaasError(path, f"cannot read the file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise JaasError(path, f"not UTF-8 text: {e.reason}") from None
    modules = parse_jaas(text, path).get(security.jaas_section)
    if modules is None:
        log.warning(
            "JAAS configuration %s has no section %r: SASL authentication is off",
            path,
            security.jaas_section,
        )
        return None
    users: dict[str, str] = {}
    for module in modules:
        if module.class_name == KERBEROS_MODULE:
            raise JaasError(
                path,
                f"section {security.jaas_section!r} uses Kerberos ({KERBEROS_MODULE}, "
                f"SASL mechanism GSSAPI), which this server does not support; "
                f"use {DIGEST_MODULE} (DIGEST-MD5)",
                module.line,
            )
        if module.class_name != DIGEST_MODULE:
            raise JaasError(
                path,
                f"section {security.jaas_section!r} uses the login module "
                f"{module.class_name}, which this server does not support; "
                f"use {DIGEST_MODULE} (DIGEST-MD5)",
                module.line,
            )
        for key, value in module.options.items():
            if key.startswith(USER_PREFIX):
                users[key[len(USER_PREFIX) :]] = value
    if security.sasl_super_password is not None and "super" in users:
        users["super"] = security.sasl_super_password
    return users
