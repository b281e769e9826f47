"""Resolves Strongroom's host names in-process, for Python programs started with this
directory on PYTHONPATH: `strongroom.localhost` and every name under it go to 127.0.0.1
(STRONGROOM_RESOLVE_SUFFIX names another suffix). System resolvers do not all resolve names
under `.localhost` (Debian's does not); /etc/hosts or a wildcard DNS entry does the same job.
"""

import os
import socket

_SUFFIX = os.environ.get("STRONGROOM_RESOLVE_SUFFIX", "strongroom.localhost").strip(".").lower()
_real_getaddrinfo = socket.getaddrinfo


def _ours(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "ignore")
    if not isinstance(host, str):
        return False
    name = host.rstrip(".").lower()
    return name == _SUFFIX or name.endswith("." + _SUFFIX)


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
    if _ours(host):
        return _real_getaddrinfo("127.0.0.1", port, socket.AF_INET, type, proto, flags)
    return _real_getaddrinfo(host, port, family, type, proto, flags)


socket.getaddrinfo = _getaddrinfo
