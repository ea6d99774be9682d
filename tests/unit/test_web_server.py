"""The services' web server sends each answer as soon as it is written."""

import socket

from nameko.web import server as nameko_server

from shared.http import HttpEntrypoint, WebServer


def test_answers_are_sent_at_once_not_after_the_clients_acknowledgement(monkeypatch):
    served = []
    monkeypatch.setattr(nameko_server.WebServer, "process_request",
                        lambda self, sock, address: served.append(sock))
    with socket.create_server(("127.0.0.1", 0)) as listening:
        with socket.create_connection(listening.getsockname()):
            accepted, address = listening.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                WebServer().process_request(accepted, address)
                assert served == [accepted]
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_every_json_endpoint_is_served_by_that_server():
    assert isinstance(HttpEntrypoint.server, WebServer)
