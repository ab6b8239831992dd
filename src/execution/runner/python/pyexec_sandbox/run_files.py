"""A run's files: the request's input files written into its working directory before user code, and
what the program left under ./outputs/ collected after it. Both run in pid 1, inside the sandbox; the
outputs directory is hostile (user code made it): symlinks are skipped, never followed, FIFOs,
sockets and devices are skipped without blocking, and the walk is bounded in count, depth and time."""
import binascii
import os
import stat
import time

OUTPUTS_DIR = 'outputs'
MAX_OUTPUT_ENTRIES = 1000  # API.md: at most 1,000 entries in response.files
MAX_SCANNED_ENTRIES = 20000  # directory entries looked at, listed or not (a folder of 100k files)
MAX_DEPTH = 32  # folders below outputs/ that are entered; deeper ones are not listed
MAX_PATH_BYTES = 255  # as for input paths: a file with a longer path under outputs/ is not listed
COLLECT_BUDGET_SEC = 2.0  # wall time the walk may take; what it has not reached by then is not listed
READ_CHUNK = 1 << 20
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class InputFileError(ValueError):
    pass


def safe_relative_path(path):
    """The service checked it already; checked again here, where it is written."""
    if (not isinstance(path, str) or not path or '\x00' in path or path.startswith('/')
            or len(path.encode('utf-8', 'surrogatepass')) > 255):
        raise InputFileError('bad input file path')
    parts = path.split('/')
    if any(part in ('', '.', '..') for part in parts):
        raise InputFileError('bad input file path')
    return parts


def write_input_files(files):
    """[{path, content (base64)}] into the working directory; an OSError (scratch space full) is the run's."""
    for item in files:
        parts = safe_relative_path(item['path'])
        data = binascii.a2b_base64(item['content'])
        if len(parts) > 1:
            os.makedirs('/'.join(parts[:-1]), exist_ok=True)
        fd = os.open(item['path'], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)


def collect_outputs(root, max_content_bytes):
    """[{path, size, sha256, media_type, content | truncated}] of the regular files under root/outputs,
    depth first in name order. A file whose content would take the total past max_content_bytes is
    listed with truncated: true and no content; later smaller files may still carry theirs."""
    try:
        top = os.open(os.path.join(root, OUTPUTS_DIR), DIR_FLAGS)
    except OSError:  # none, not a folder, or a symlink: nothing to return
        return []
    walk = Walk(max_content_bytes)
    try:
        walk.folder(top, '', 0)
    finally:
        os.close(top)
    return walk.entries


class Walk:
    def __init__(self, max_content_bytes):
        self.entries = []
        self.room = max_content_bytes
        self.scanned = 0
        self.deadline = time.monotonic() + COLLECT_BUDGET_SEC

    def exhausted(self):
        return (len(self.entries) >= MAX_OUTPUT_ENTRIES or self.scanned >= MAX_SCANNED_ENTRIES
                or time.monotonic() > self.deadline)

    def folder(self, dir_fd, prefix, depth):
        names = []
        try:
            with os.scandir(dir_fd) as it:
                for entry in it:
                    self.scanned += 1
                    if entry.is_symlink():
                        continue  # never followed, not listed
                    names.append((entry.name, entry.is_dir(follow_symlinks=False)))
                    if self.scanned >= MAX_SCANNED_ENTRIES:
                        break
        except OSError:
            return
        names.sort()
        for name, is_dir in names:
            if self.exhausted():
                return
            if path_bytes(prefix + name) > MAX_PATH_BYTES:
                continue
            if is_dir:
                if depth + 1 <= MAX_DEPTH:
                    self.subfolder(dir_fd, name, prefix + name + '/', depth + 1)
            else:
                self.file(dir_fd, name, prefix + name)

    def subfolder(self, dir_fd, name, prefix, depth):
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
        except OSError:
            return
        try:
            self.folder(fd, prefix, depth)
        finally:
            os.close(fd)

    def file(self, dir_fd, name, path):
        try:
            fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)  # a socket: ENXIO; a symlink swapped in: ELOOP
        except OSError:
            return
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return  # FIFO or device: skipped, never read
            entry = self.read(fd, st.st_size)
        except OSError:
            return
        finally:
            os.close(fd)
        entry['path'] = path
        entry['media_type'] = media_type(name)
        self.entries.append(entry)

    def read(self, fd, size_hint):
        """Hash the whole file; keep its content only if it fits in what is left of the budget."""
        import hashlib
        digest = hashlib.sha256()
        keep = size_hint <= self.room
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            digest.update(chunk)
            if keep and size > self.room:  # it grew while read
                keep, chunks = False, []
            elif keep:
                chunks.append(chunk)
            if time.monotonic() > self.deadline:
                raise OSError('output collection ran out of time')
        entry = {'size': size, 'sha256': digest.hexdigest()}
        if keep:
            self.room -= size
            entry['content'] = binascii.b2a_base64(b''.join(chunks), newline=False).decode('ascii')
        else:
            entry['truncated'] = True
        return entry


def path_bytes(path):
    return len(path.encode('utf-8', 'surrogateescape'))


def media_type(name):
    import mimetypes
    return mimetypes.guess_type(name, strict=False)[0] or 'application/octet-stream'
