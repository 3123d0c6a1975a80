"""``stance serve``: answer REST requests with the model ``stance predict`` uses, on 127.0.0.1.

By default it serves the model file ``stance predict`` uses by default (``models/model.joblib``,
under the same trust rule; ``--model`` for another file); with ``--champion`` it serves the
registered version holding the MLflow alias (``models:/<name>@champion``), which is what
``mlflow models serve`` serves. When the two differ, the start-up line says so
(:func:`pipeline.model.files.champion_note`).

The protocol is MLflow's scoring protocol, so a client works with either server::

    POST /invocations  {"dataframe_records": [{"text": "..."}]}      (or "dataframe_split", "inputs")
    -> 200 {"predictions": [{"label": "oppose", "support": 0.07, "oppose": 0.82, "neutral": 0.11}]}
    GET /health -> 200 {"status": "ok", "model": "..."}

Every request is checked before anything is scored, as the logged pyfunc model checks it
(:func:`pipeline.tracking.serving.check_texts`): each ``text`` a non-blank string of at most
``predict.max_chars`` characters, the request at most ``predict.max_chars`` characters in all
(400 with a one-sentence JSON message). A body longer than could hold that many characters
(:func:`body_limit`) is refused with 413 from its ``Content-Length`` alone, before it is read;
a request without a length gets 411. Nothing reaches the network beyond the bound address.
"""

from __future__ import annotations

import argparse
import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.core.config import StanceError, add_path_argument, positive_int, repo_root
from pipeline.core.data import LABELS
from pipeline.core.params import MlflowParams, PredictParams, load_section
from pipeline.model.files import add_trust_argument, champion_note, load_model
from pipeline.tracking.registry import alias_version, load_version_model
from pipeline.tracking.uri import check_tracking_uri, resolve_tracking_uri

__all__ = ["add_serve_arguments", "body_limit", "make_server", "run_serve", "served_model"]

log = logging.getLogger("stance")

#: Seconds a client may take to send its request.
REQUEST_TIMEOUT = 30.0


def body_limit(max_chars: int) -> int:
    """Most bytes a request body may hold: *max_chars* characters, each at most 6 bytes in JSON
    (a ``\\uXXXX`` escape), plus 64 KiB for the JSON around them."""
    return 6 * int(max_chars) + (64 << 10)


def _texts_of(body: Any) -> list:
    """The ``text`` values of an MLflow scoring request (records, split or inputs)."""
    if isinstance(body, dict) and isinstance(body.get("dataframe_records"), list):
        rows = body["dataframe_records"]
        if not all(isinstance(r, dict) and "text" in r for r in rows):
            raise ValueError("every record needs a 'text' field")
        return [r["text"] for r in rows]
    if isinstance(body, dict) and isinstance(body.get("dataframe_split"), dict):
        split = body["dataframe_split"]
        columns, data = split.get("columns"), split.get("data")
        if not isinstance(columns, list) or "text" not in columns or not isinstance(data, list):
            raise ValueError("'dataframe_split' needs 'columns' with 'text' and 'data' rows")
        i = columns.index("text")
        if not all(isinstance(row, list) and len(row) > i for row in data):
            raise ValueError("every 'data' row needs a value for the 'text' column")
        return [row[i] for row in data]
    if isinstance(body, dict) and "inputs" in body:
        inputs = body["inputs"]
        if isinstance(inputs, dict) and isinstance(inputs.get("text"), list):
            return inputs["text"]
        if isinstance(inputs, list):
            return inputs
        raise ValueError("'inputs' must be a list of texts or {'text': [...]}")
    raise ValueError("expected a JSON object with 'dataframe_records', 'dataframe_split' or 'inputs'")


class _Handler(BaseHTTPRequestHandler):
    server_version = "stance-serve"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # no access log on stderr

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        self._answer(status, {"error_code": status.phrase.upper().replace(" ", "_"), "message": message})

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?")[0] in ("/health", "/ping"):
            self._answer(HTTPStatus.OK, {"status": "ok", "model": self.server.description})
        else:
            self._refuse(HTTPStatus.NOT_FOUND, "GET /health, or POST /invocations")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?")[0] != "/invocations":
            return self._refuse(HTTPStatus.NOT_FOUND, "POST /invocations")
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            return self._refuse(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header")
        limit = body_limit(self.server.max_chars)
        if int(length) > limit:
            return self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                f"request body of {int(length)} bytes is over the limit of {limit} bytes "
                                f"(max_chars {self.server.max_chars}); send fewer or shorter texts")
        try:
            raw = self.rfile.read(int(length))
            texts = self.server.check(_texts_of(json.loads(raw.decode("utf-8"))), self.server.max_chars)
        except RecursionError:
            return self._refuse(HTTPStatus.BAD_REQUEST, "JSON nested too deeply to read")
        except UnicodeDecodeError:
            return self._refuse(HTTPStatus.BAD_REQUEST, "the body is not UTF-8 text")
        except ValueError as exc:  # bad JSON, or a text check (json.JSONDecodeError is a ValueError)
            return self._refuse(HTTPStatus.BAD_REQUEST, str(exc).splitlines()[0][:300])
        frame = self.server.score(self.server.model, texts, list(LABELS))
        self._answer(HTTPStatus.OK, {"predictions": frame.to_dict(orient="records")})


def make_server(model: Any, max_chars: int, host: str = "127.0.0.1", port: int = 5001,
                description: str = "") -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) that scores texts with *model* under the checks above."""
    # imported here: the serving module imports mlflow (start-up cost), shared for identical checks
    from pipeline.tracking.serving import check_texts, score_frame

    class Handler(_Handler):
        timeout = REQUEST_TIMEOUT

    try:
        server = ThreadingHTTPServer((host, int(port)), Handler)
    except OSError as exc:
        raise StanceError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    server.daemon_threads = True
    server.model, server.max_chars, server.description = model, int(max_chars), description
    server.check, server.score = check_texts, score_frame
    return server


def served_model(model_path: str | None, champion: bool, params_path: Path, tracking_uri: str | None,
                 trust: bool = False) -> tuple[Any, str, str | None]:
    """``(model, description, note)``: the model file ``stance predict`` uses (*model_path*,
    default ``models/model.joblib``), or with *champion* the registered version holding the alias."""
    if not champion:
        model = load_model(model_path, trust=trust)
        shown = model_path or "models/model.joblib"
        return model, f"model file {shown}", champion_note(model_path)
    import mlflow

    ml = load_section("mlflow", params_path) if params_path.is_file() else MlflowParams()
    uri = resolve_tracking_uri(tracking_uri, repo_root())
    check_tracking_uri(uri, ml.connect_timeout)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    from mlflow.tracking import MlflowClient

    holder = alias_version(MlflowClient(tracking_uri=uri, registry_uri=uri), ml.registered_model, ml.alias)
    if holder is None:
        raise StanceError(f"no version of {ml.registered_model} holds @{ml.alias} in {uri}; run `dvc repro` "
                          "or serve the model file (without --champion)")
    model = load_version_model(ml.registered_model, str(holder.version))
    return model, f"{ml.registered_model} version {holder.version} (@{ml.alias})", None


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``stance serve``."""
    parser.add_argument("--model", default=None, help="model file (default: models/model.joblib, as stance predict)")
    parser.add_argument("--champion", action="store_true",
                        help="serve the registered version holding the MLflow alias (mlflow.alias) instead")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001, help="port (default: 5001; 0: any free port)")
    parser.add_argument("--max-chars", type=positive_int, default=None, metavar="N",
                        help="longest text and most characters per request (default: predict.max_chars)")
    add_path_argument(parser, "--params", "params", "parameters file (predict.max_chars, mlflow section)")
    parser.add_argument("--tracking-uri", default=None,
                        help="with --champion: MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else "
                             "sqlite:///<repo>/mlflow.db)")
    add_trust_argument(parser)


def run_serve(args: argparse.Namespace) -> int:
    """Entry point of ``stance serve``: serve until interrupted."""
    if args.champion and args.model:
        raise StanceError("give --model FILE or --champion, not both")
    params_path = Path(args.params)
    predict = load_section("predict", params_path) if params_path.is_file() else PredictParams()
    max_chars = args.max_chars or predict.max_chars
    model, description, note = served_model(args.model, args.champion, params_path, args.tracking_uri,
                                            trust=args.trust_model)
    server = make_server(model, max_chars, args.host, args.port, description)
    host, port = server.server_address[:2]
    if host not in ("127.0.0.1", "::1", "localhost"):
        log.warning(f"warning: listening on {host}, reachable from other machines")
    log.info(f"serving {description} on http://{host}:{port}/invocations (texts up to {max_chars} characters "
             f"each and per request); Ctrl-C stops")
    if note:
        log.warning(note)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
