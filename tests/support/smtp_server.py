"""A real SMTP server for the digest's tests (tests/digest.rs).

aiosmtpd's Controller on 127.0.0.1 with STARTTLS required (the certificate and key
given), AUTH LOGIN and PLAIN required, over TLS only, checked against one user and
password. Each message delivered is written to OUT as N.eml (as received) and N.json
(the envelope, the headers, the decoded text/plain and text/html parts, the user that
authenticated and whether the session was encrypted); N.json is written under a
temporary name and renamed, so a reader never sees half of one.

Prints "READY <port>" on standard output once the server answers, and runs until its
standard input closes (the test holds it open).

    python3 smtp_server.py --cert cert.pem --key key.pem --user U --password P --out DIR
"""

import argparse
import email
import json
import os
import socket
import ssl
import sys
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Authenticator:
    def __init__(self, user, password):
        self.user = user
        self.password = password

    def __call__(self, server, session, envelope, mechanism, auth_data):
        refused = AuthResult(success=False, handled=False)
        if mechanism not in ("LOGIN", "PLAIN") or not isinstance(auth_data, LoginPassword):
            return refused
        if auth_data.login.decode() == self.user and auth_data.password.decode() == self.password:
            return AuthResult(success=True, auth_data=auth_data)
        return refused


class Handler:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=policy.default)
        parts = {}
        for part in message.walk():
            kind = part.get_content_type()
            if kind in ("text/plain", "text/html") and kind not in parts:
                parts[kind] = part.get_content()
        auth = session.auth_data.login.decode() if session.auth_data else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in message.items()},
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
            "authenticated_as": auth,
            "tls": session.ssl is not None,
        }
        with open(os.path.join(self.out, f"{n}.eml"), "wb") as f:
            f.write(raw)
        tmp = os.path.join(self.out, f".{n}.json.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out, f"{n}.json"))
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    for name in ("--cert", "--key", "--user", "--password", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    controller = Controller(
        Handler(args.out),
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=Authenticator(args.user, args.password),
        auth_required=True,
        auth_require_tls=True,
    )
    # start() returns once the server has answered a connection of its own.
    controller.start()
    print(f"READY {controller.port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
