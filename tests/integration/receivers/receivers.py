#!/usr/bin/python3
"""Loopback stand-ins for what Culex delivers to, for the rules and delivery tests.

One process serves:
  * an HTTP receiver on --http-port. The path decides the answer:
      /ok/...           200
      /fail/...         500 every time
      /flaky/N/...      500 for the first N requests to that exact path, then 200
      /hang/...         never answers (until the client closes, at most 60 s);
                        GET /_hanging tells how many hang now and the most at once
    and the Twilio Messages API form at /2010-04-01/Accounts/<sid>/Messages.json
    (201 with --sms-sid/--sms-token as basic auth, else 401).
    GET /_requests lists what was received: method, path, headers, body (base64);
    POST /_reset forgets it.
  * an SMTP server on --smtp-port (aiosmtpd), with AUTH when --smtp-user is given and
    STARTTLS required when --tls-cert/--tls-key are (TLS from the start with --smtps).
    GET /_mail lists the mail.
Prints "ready" once both listen. Binds 127.0.0.1 only.
"""
import argparse
import base64
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

lock = threading.Lock()
requests = []
mail = []
flaky_seen = {}
hanging = {"now": 0, "most": 0}  # /hang/ requests open at once, and the most ever


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, delayed ACKs cost 40 ms each.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length > 0 else b""
        if self.path == "/_requests":
            with lock:
                return self.answer(200, json.dumps(requests).encode())
        if self.path == "/_hanging":
            with lock:
                return self.answer(200, json.dumps(hanging).encode())
        if self.path == "/_reset":
            with lock:
                requests.clear()
                mail.clear()
            return self.answer(200, b"{}")
        if self.path == "/_mail":
            with lock:
                return self.answer(200, json.dumps(mail).encode())
        with lock:
            requests.append({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": base64.b64encode(body).decode(),
                "at": time.time(),
            })
        parts = self.path.split("/")
        if self.path.startswith("/ok/"):
            return self.answer(200, b'{"ok":true}')
        if self.path.startswith("/fail/"):
            return self.answer(500, b"receiver failing on purpose")
        if self.path.startswith("/flaky/"):
            failures = int(parts[2])
            with lock:
                seen = flaky_seen.get(self.path, 0)
                flaky_seen[self.path] = seen + 1
            return self.answer(500 if seen < failures else 200, b"flaky")
        if self.path.startswith("/hang/"):
            with lock:
                hanging["now"] += 1
                hanging["most"] = max(hanging["most"], hanging["now"])
            # Until the client gives up: a read returns once it closes the connection.
            self.connection.settimeout(60)
            try:
                self.rfile.read(1)
            except OSError:
                pass
            with lock:
                hanging["now"] -= 1
            self.close_connection = True
            return
        if self.path.startswith("/2010-04-01/Accounts/") and self.path.endswith("/Messages.json"):
            expected = "Basic " + base64.b64encode(
                f"{args.sms_sid}:{args.sms_token}".encode()).decode()
            if self.headers.get("Authorization") != expected or parts[3] != args.sms_sid:
                return self.answer(401, b'{"code":20003,"message":"Authenticate"}')
            return self.answer(201, b'{"sid":"SM0123","status":"queued"}')
        return self.answer(404, b"no such path")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class MailHandler:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            mail.append({
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "data": base64.b64encode(envelope.content).decode(),
                "tls": server.transport.get_extra_info("ssl_object") is not None,
                "auth": session.authenticated,
            })
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login.decode() == args.smtp_user and
          auth_data.password.decode() == args.smtp_password)
    return AuthResult(success=ok)


parser = argparse.ArgumentParser()
parser.add_argument("--http-port", type=int, required=True)
parser.add_argument("--smtp-port", type=int, required=True)
parser.add_argument("--smtp-user")
parser.add_argument("--smtp-password")
parser.add_argument("--tls-cert")
parser.add_argument("--tls-key")
parser.add_argument("--smtps", action="store_true", help="TLS from the start instead of STARTTLS")
parser.add_argument("--sms-sid", default="AC123")
parser.add_argument("--sms-token", default="sms-token")
args = parser.parse_args()

smtp_options = {}
if args.tls_cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    if args.smtps:
        smtp_options.update(ssl_context=context)
    else:
        smtp_options.update(tls_context=context, require_starttls=True)
if args.smtp_user:
    smtp_options.update(authenticator=authenticator, auth_required=True,
                        # aiosmtpd counts only STARTTLS as TLS; with --smtps all of it is.
                        auth_require_tls=bool(args.tls_cert) and not args.smtps)
controller = Controller(MailHandler(), hostname="127.0.0.1", port=args.smtp_port, **smtp_options)
controller.start()
server = ThreadingHTTPServer(("127.0.0.1", args.http_port), Receiver)
server.daemon_threads = True
print("ready", flush=True)
try:
    server.serve_forever()
finally:
    controller.stop()
