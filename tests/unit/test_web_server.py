"""The services' web server: each answer is sent as soon as it is written, and a handler
must take what its requests pass it."""

import socket

import pytest
from nameko.exceptions import IncorrectSignature
from nameko.web import server as nameko_server

from shared.auth import PUBLIC, new_key
from shared.http import HttpEntrypoint, WebServer, http, json_response


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


def test_a_handler_that_does_not_take_its_paths_variables_stops_its_service_from_starting(
        container_factory):
    class Broken:
        name = "broken"

        @http("GET", "/tasks/<task_id>", allow=PUBLIC)
        def get_task(self, request):
            return json_response({})

    signing, public = new_key("k1")
    container = container_factory(Broken, {
        "AMQP_URI": "memory://", "WEB_SERVER_ADDRESS": "127.0.0.1:0",
        "MONGO_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=1",
        "AUTH_PUBLIC_KEYS": public})

    with pytest.raises(IncorrectSignature, match="task_id"):
        container.start()
