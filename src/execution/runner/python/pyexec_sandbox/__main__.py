# Warm fork server for untrusted Python runs. Started by the service inside bubblewrap as
#   python3 -I -S -B <this package's directory>   (a read-only bind; its configuration in the
# environment, see config.CONFIG_ENV). It talks to the service over fd 0 and fd 1 (protocol.py).
# It holds no secrets and no job data between runs. Modules, by role: docs/sandbox.md.
import os
import sys

# Run as a directory, sys.path[0] is this one: import it as a package from its parent instead, then
# take the parent off sys.path so that user code imports nothing from here by a bare name.
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[0] = os.path.dirname(PACKAGE_DIR)
try:
    from pyexec_sandbox import config, protocol, server, session
finally:
    del sys.path[0]

import site  # noqa: E402

site.main()  # once, here: sys.path with dist-packages and the exit()/quit() builtins, inherited by every run


def main():
    try:
        settings = config.ServerConfig.from_json(os.environ.pop(config.CONFIG_ENV))
        (session.serve if settings.session else server.serve)(settings)
    except server.PreloadError as exc:
        protocol.log(str(exc))
        os._exit(1)
    except BaseException as exc:
        protocol.log('fatal: %s: %s' % (type(exc).__name__, exc))
        os._exit(1)


main()
