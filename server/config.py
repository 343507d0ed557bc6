"""Configuration: read from the environment here and nowhere else.

Every setting is a typed field of a small frozen value object with a named
default; :meth:`Config.from_env` parses ``BALIE_*`` variables and refuses bad
values at start-up with a message naming the variable. The README lists them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

from signaling.turn import IceSettings

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8080
DEFAULT_DATA_DIR: Final = "var"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Environment(StrEnum):
    #: the embedded default: demo data and development helpers allowed
    DEVELOPMENT = "development"
    #: no development helpers; secrets must be provided
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    #: largest accepted frame in bytes; larger frames close the socket with 1009
    max_message: int = 64 * 1024
    #: seconds between WebSocket pings; a peer that misses a pong is dropped
    heartbeat: float = 15.0
    #: seconds a new socket has to send its first frame (``join`` or ``resume``)
    join_timeout: float = 10.0
    #: sustained messages per second per socket
    rate: float = 50.0
    #: burst allowance per socket (a browser trickles ~20 candidates at once)
    burst: float = 200.0
    #: frames refused for rate in a row before the socket is closed with 4429
    rate_strikes: int = 100
    #: frames queued for a socket that does not read before it is closed (4503)
    send_queue: int = 512
    #: permessage-deflate; off because frames are small and deflate costs CPU
    compress: bool = False
    #: seconds a dropped participant's seat is kept for ``resume``
    resume_grace: float = 30.0
    #: participants in one call
    max_in_call: int = 3


@dataclass(frozen=True, slots=True)
class TokenSettings:
    #: the ``iss`` of room tokens
    issuer: str = "balie"
    #: lifetime of tokens minted by ``balie room create``, in seconds
    room_token_ttl: int = 4 * 3600
    #: the key set file; created with a fresh key in development if missing
    keys_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Config:
    environment: Environment = Environment.DEVELOPMENT
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    #: the URL residents and staff open, used in links (no trailing slash)
    public_url: str = ""
    #: origins allowed to open the WebSocket; defaults to the public URL's
    allowed_origins: tuple[str, ...] = ()
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    ws: WebSocketSettings = field(default_factory=WebSocketSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    ice: IceSettings = field(default_factory=IceSettings)
    #: log level name for the ``balie`` loggers
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self._url_host()}:{self.port}")
        if not self.allowed_origins:
            origins = {_origin(self.public_url)}
            if self.host in ("127.0.0.1", "localhost", "::1") and not self.production:
                # the same development server reached by the other loopback name
                origins |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}
            object.__setattr__(self, "allowed_origins", tuple(sorted(origins)))
        if self.tokens.keys_file is None:
            tokens = dataclasses.replace(self.tokens, keys_file=self.data_dir / "room-keys.json")
            object.__setattr__(self, "tokens", tokens)

    def _url_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104

    @property
    def production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def keys_file(self) -> Path:
        assert self.tokens.keys_file is not None  # set in __post_init__
        return self.tokens.keys_file

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        read = _Reader(env)
        data_dir = Path(read.text("BALIE_DATA_DIR", DEFAULT_DATA_DIR))
        keys_file = read.text("BALIE_ROOM_KEYS_FILE", "")
        try:
            ice = IceSettings(
                stun_urls=read.items("BALIE_STUN_URLS"),
                turn_urls=read.items("BALIE_TURN_URLS"),
                turn_secret=read.text("BALIE_TURN_SECRET", ""),
                turn_ttl=read.integer("BALIE_TURN_TTL", 3600),
            )
        except ValueError as exc:
            raise ConfigError(f"BALIE_STUN_URLS/BALIE_TURN_*: {exc}") from None
        ws_defaults = WebSocketSettings()
        config = cls(
            environment=read.choice("BALIE_ENV", Environment, Environment.DEVELOPMENT),
            host=read.text("BALIE_HOST", DEFAULT_HOST),
            port=read.integer("BALIE_PORT", DEFAULT_PORT),
            public_url=read.text("BALIE_PUBLIC_URL", "").rstrip("/"),
            allowed_origins=read.items("BALIE_ALLOWED_ORIGINS"),
            data_dir=data_dir,
            ws=WebSocketSettings(
                max_message=read.integer("BALIE_WS_MAX_MESSAGE", ws_defaults.max_message),
                heartbeat=read.number("BALIE_WS_HEARTBEAT", ws_defaults.heartbeat),
                join_timeout=read.number("BALIE_WS_JOIN_TIMEOUT", ws_defaults.join_timeout),
                rate=read.number("BALIE_WS_RATE", ws_defaults.rate),
                burst=read.number("BALIE_WS_BURST", ws_defaults.burst),
                rate_strikes=read.integer("BALIE_WS_RATE_STRIKES", ws_defaults.rate_strikes),
                send_queue=read.integer("BALIE_WS_SEND_QUEUE", ws_defaults.send_queue),
                compress=read.flag("BALIE_WS_COMPRESS", ws_defaults.compress),
                resume_grace=read.number("BALIE_RESUME_GRACE", ws_defaults.resume_grace),
            ),
            tokens=TokenSettings(
                issuer=read.text("BALIE_TOKEN_ISSUER", "balie"),
                room_token_ttl=read.integer("BALIE_ROOM_TOKEN_TTL", 4 * 3600),
                keys_file=Path(keys_file) if keys_file else None,
            ),
            ice=ice,
            log_level=read.text("BALIE_LOG_LEVEL", "INFO").upper(),
        )
        config.validate()
        return config

    def validate(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError("BALIE_PORT must be between 1 and 65535")
        for origin in self.allowed_origins:
            if _origin(origin) != origin:
                raise ConfigError(
                    f"BALIE_ALLOWED_ORIGINS: {origin!r} is not an origin like https://host[:port]"
                )
        if self.ws.max_message < 1024:
            raise ConfigError("BALIE_WS_MAX_MESSAGE must be at least 1024 bytes")
        if self.ws.rate <= 0 or self.ws.burst < 1:
            raise ConfigError("BALIE_WS_RATE must be positive and BALIE_WS_BURST at least 1")
        positive = {
            "BALIE_WS_SEND_QUEUE": self.ws.send_queue,
            "BALIE_WS_RATE_STRIKES": self.ws.rate_strikes,
            "BALIE_WS_HEARTBEAT": self.ws.heartbeat,
            "BALIE_WS_JOIN_TIMEOUT": self.ws.join_timeout,
            "BALIE_RESUME_GRACE": self.ws.resume_grace,
            "BALIE_ROOM_TOKEN_TTL": self.tokens.room_token_ttl,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be positive, not {value!r}")
        if self.production and not self.public_url.startswith("https://"):
            raise ConfigError("BALIE_PUBLIC_URL must be an https:// URL in production")
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("BALIE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_E = TypeVar("_E", bound=StrEnum)


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return self._env.get(name, default).strip()

    def items(self, name: str) -> tuple[str, ...]:
        raw = self._env.get(name, "")
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def integer(self, name: str, default: int) -> int:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None

    def number(self, name: str, default: float) -> float:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {raw!r}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, not {raw!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")

    def choice(self, name: str, kind: type[_E], default: _E) -> _E:
        raw = self._env.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return kind(raw.strip().lower())
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise ConfigError(f"{name} must be one of {allowed}, not {raw!r}") from None
