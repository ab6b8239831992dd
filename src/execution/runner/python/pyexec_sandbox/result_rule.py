"""The result rule: top-level `return x` and a trailing expression both become the run's result,
converted to JSON; exceptions and limits become one error line."""
import _ast  # every run's compile needs it: loading it per run cost ~1 ms of CPU
import json
import sys

USER_FILENAME = '<code>'
LIMIT_ERRNOS = {27: 'File size limit exceeded', 28: 'Scratch space limit exceeded', 24: 'Open files limit exceeded'}


class Return(BaseException):
    """Carries a top-level `return` value out of the user's module."""

    def __init__(self, value):
        self.value = value


def guard_return():
    # Prepended to top-level `except` blocks so they cannot swallow a top-level `return`.
    err = sys.exc_info()[1]
    if isinstance(err, Return):
        raise err


def install_builtins(builtins):
    """The names compile_user_code()'s rewritten tree calls."""
    builtins.__pyexec_return__ = Return
    builtins.__pyexec_guard__ = guard_return


def _located(node, like):
    for attr in ('lineno', 'col_offset', 'end_lineno', 'end_col_offset'):
        setattr(node, attr, getattr(like, attr))
    return node


def _raise_return(value, like):
    A = _ast
    call = _located(A.Call(_located(A.Name('__pyexec_return__', A.Load()), like),
                           [value if value is not None else _located(A.Constant(None), like)], []), like)
    return _located(A.Raise(call, None), like)


def _rewrite(body):
    A = _ast
    out = []
    for stmt in body:
        if isinstance(stmt, A.Return):
            stmt = _raise_return(stmt.value, stmt)
        elif not isinstance(stmt, (A.FunctionDef, A.AsyncFunctionDef, A.ClassDef)):
            for field in ('body', 'orelse', 'finalbody'):
                if isinstance(getattr(stmt, field, None), list):
                    setattr(stmt, field, _rewrite(getattr(stmt, field)))
            for handler in getattr(stmt, 'handlers', ()):
                guard = _located(A.Expr(_located(A.Call(_located(A.Name('__pyexec_guard__', A.Load()), handler),
                                                        [], []), handler)), handler)
                handler.body = [guard] + _rewrite(handler.body)
            for case in getattr(stmt, 'cases', ()):
                case.body = _rewrite(case.body)
        out.append(stmt)
    return out


def compile_user_code(code):
    """Compile user code: top-level `return x` and a trailing expression both raise Return(x)."""
    tree = compile(code, USER_FILENAME, 'exec', _ast.PyCF_ONLY_AST)
    tree.body = _rewrite(tree.body)
    if tree.body and isinstance(tree.body[-1], _ast.Expr):
        last = tree.body[-1]
        tree.body[-1] = _raise_return(last.value, last)
    return compile(tree, USER_FILENAME, 'exec')


def to_jsonable(value, depth=0, seen=None):
    """JSON types pass through, tuples become lists, anything else becomes its repr()."""
    if value is None or value is True or value is False or type(value) in (int, str):
        return value
    if type(value) is float:
        return value if value == value and value not in (float('inf'), float('-inf')) else repr(value)
    if depth > 100:
        return repr(value)
    seen = seen if seen is not None else set()
    if type(value) in (list, tuple, dict):
        if id(value) in seen:
            return repr(value)
        seen.add(id(value))
        try:
            if type(value) is dict:
                out = {}
                for key, item in value.items():
                    if type(key) is not str:
                        key = json.dumps(key) if key is None or type(key) in (int, float, bool) else repr(key)
                    out[key] = to_jsonable(item, depth + 1, seen)
                return out
            return [to_jsonable(item, depth + 1, seen) for item in value]
        finally:
            seen.discard(id(value))
    return repr(value)


def describe(exc):
    """('<ExceptionType>: <message>', None), or the limit that was hit: (its message, its name)."""
    name = type(exc).__qualname__
    mod = type(exc).__module__
    if mod not in ('builtins', '__main__', None):
        name = mod + '.' + name
    text = ''
    try:
        text = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    except BaseException:
        pass
    plain = '%s: %s' % (name, text) if text else name
    if isinstance(exc, MemoryError):
        return 'Memory limit exceeded', 'memory'
    if isinstance(exc, BlockingIOError) and exc.errno == 11:
        return 'Process limit exceeded (%s)' % plain, 'processes'
    if isinstance(exc, RuntimeError) and "can't start new thread" in text:
        return 'Process limit exceeded (%s)' % plain, 'processes'
    if isinstance(exc, OSError) and exc.errno in LIMIT_ERRNOS:
        return '%s (%s)' % (LIMIT_ERRNOS[exc.errno], plain), 'disk' if exc.errno != 24 else 'files'
    return plain, None


def exit_status(exc):
    """(exit status, report) for a SystemExit out of user code."""
    code = exc.code
    if code is None:
        return 0, {'ok': True, 'result': None}
    if isinstance(code, int):
        status = code & 0xFF
    else:
        try:
            sys.stderr.write(str(code) + '\n')
        except BaseException:
            pass
        status = 1
    if status == 0:
        return 0, {'ok': True, 'result': None}
    return status, {'ok': False, 'error': 'SystemExit: %s' % (code,)}


def encode_report(report, status, max_result_bytes, extra=None):
    """(JSON bytes, exit status) of the final report, bounded: a result that cannot be JSON or is too
    large becomes an error. `extra` (files, display: bounded by their own caps) is added after the check."""
    try:
        data = json.dumps(report, ensure_ascii=False, allow_nan=False).encode('utf-8', 'surrogatepass')
    except BaseException as exc:
        data = json.dumps({'ok': False, 'error': 'Result is not serialisable: %s' % describe(exc)[0]}).encode()
        status = status or 1
    if len(data) > max_result_bytes:
        data = json.dumps({'ok': False, 'error': 'Result exceeds %d bytes' % max_result_bytes, 'limit': 'result'}).encode()
        status = status or 1
    if extra:
        try:
            data = data[:-1] + b',' + json.dumps(extra, ensure_ascii=False, allow_nan=False)[1:].encode(
                'utf-8', 'surrogatepass')
        except BaseException:
            pass
    return data, status
