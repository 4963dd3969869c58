"""Outputs that never lose what was there: every output of a command is checked and reserved before
any work, and all of them are committed together at the end.

- **Reserved first.** Each destination is resolved and locked, and a staging sibling
  (``.NAME.PID-XXXXXXXX.tmp``) is created beside it when the command starts, so an unwritable
  destination fails before any training, and two runs never write the same output at once.
- **Committed together.** Payloads are written into the staging files, then standard output and
  written-through streams get theirs, and only then is anything renamed into place. A closed or full
  stdout, a full disk or an interrupt before that point leaves every destination as it was.
- **Replaced in one step.** A regular file (or a missing path) is replaced by one rename. A model
  directory is exchanged with its staging directory in one step (Linux's
  ``renameat2(RENAME_EXCHANGE)``), so the path names a complete model at every instant. Where the
  file system cannot exchange, the old directory is moved aside and the new one renamed in, and a
  later run (or a read of the model) puts the old one back if the process died in between. SIGINT
  and SIGTERM are held until the renames are done.
- **Never replaced.** A symlink is followed (its target is what is written); a character device,
  FIFO or socket (``/dev/null``, a named pipe, ``/proc/self/fd/1``) is written through; a directory
  that is not ours is refused. Nothing is written into an lstmcast model directory but the model
  itself: a report there would replace one of its files or make it a model folder with extra files.
- **No leftovers.** Staging files left by a killed run are swept by the next run that writes the
  same destination, once the process that made them is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from lstmcast.errors import OutputError

try:  # POSIX only; elsewhere outputs are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STDOUT = "-"
_STDOUT_CLOSED = "standard output is closed; redirect it or give a file with -o"
# What a staging, moved-aside or lock file beside NAME is called; only names of this shape are swept.
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)-[a-z0-9_]{8}\.(?P<kind>tmp|old)")
_LONG_NAME = 160  # bytes: longer names are hashed in staging and lock names, which must fit in 255


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


# -- destinations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where an output goes: ``path`` is the file that is replaced (a symlink's target, made
    absolute), or the stream written through when ``stream`` is set."""

    given: str  # as the user wrote it, for messages
    path: Path
    stream: bool = False
    fd: int | None = None  # a descriptor of this process to write through (/dev/stdout, /proc/self/fd/N)

    @property
    def is_stdout(self) -> bool:
        return self.given == STDOUT


def resolve(dest: str | Path, *, directory: bool = False) -> Destination:
    """Check ``dest`` can take an output before any work, and say how it will be written.

    ``directory`` is for model directories; everything else is a file.
    """
    given = str(dest)
    if given == STDOUT:
        if directory:
            raise OutputError("a model directory cannot be written to standard output (-); give a path")
        _check_stdout_open()
        return Destination(given, Path(STDOUT), stream=True)
    if not given.strip():
        raise OutputError("the output path is empty")
    path = Path(given)
    fd = _own_descriptor(path)
    if fd is not None:
        if directory:
            raise OutputError(f"{given}: is a file descriptor; a model directory cannot be written there")
        return Destination(given, path, stream=True, fd=fd)
    mode = _mode(path, given)
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return _stream(given, path, mode, directory)
    _check_kind(given, mode, directory)
    target = Path(os.path.realpath(path))  # a symlink (dangling or not) is written through to its target
    if target.parent == target:
        raise OutputError(f"{given}: cannot replace the root folder")
    if not target.parent.is_dir():
        folder = target.parent if path.is_symlink() else path.parent
        raise OutputError(f"{given}: the folder {folder} does not exist")
    return Destination(given, target)


_DESCRIPTOR = re.compile(r"/(?:dev/fd|proc/self/fd|proc/(?P<pid>\d+)/fd)/(?P<fd>\d+)")
_STANDARD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def _own_descriptor(path: Path) -> int | None:
    """The descriptor number when ``path`` (or a symlink on the way to it) names one of this
    process's open files: /dev/stdout, /dev/fd/N, /proc/self/fd/N. Such a path must be written
    through the descriptor: resolving it would find the file the shell opened (``>> log``) and
    replace it, losing what the shell was appending to."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on symlinks followed
        if current in _STANDARD:
            return _STANDARD[current]
        match = _DESCRIPTOR.fullmatch(current)
        if match and (match["pid"] is None or int(match["pid"]) == os.getpid()):
            return int(match["fd"])
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return None


def _mode(path: Path, given: str) -> int | None:
    """The file type and mode at ``path`` (following symlinks), or None when nothing is there."""
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{given}: cannot use this path ({_reason(exc)})") from None


def _check_kind(given: str, mode: int | None, directory: bool) -> None:
    if mode is not None and stat.S_ISDIR(mode) and not directory:
        raise OutputError(f"{given}: is a directory; give a file name")
    if mode is not None and stat.S_ISREG(mode) and directory:
        raise OutputError(f"{given}: exists and is not a directory; refusing to replace it")
    if not directory and given.endswith(("/", os.sep)):
        raise OutputError(f"{given}: names a folder (it ends with /); give a file name")


def _stream(given: str, path: Path, mode: int, directory: bool) -> Destination:
    kind = (
        "a character device"
        if stat.S_ISCHR(mode)
        else "a named pipe"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "not a regular file"
    )
    if directory or stat.S_ISBLK(mode):
        raise OutputError(f"{given}: is {kind}; refusing to write a model there")
    if not os.access(path, os.W_OK):
        raise OutputError(f"{given}: is {kind} that cannot be written (permission denied)")
    return Destination(given, path, stream=True)


def _check_stdout_open() -> None:
    if sys.stdout is None:
        raise OutputError(_STDOUT_CLOSED)
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a real file (a test runner's buffer): nothing to check
    try:
        os.fstat(fd)
    except OSError:
        raise OutputError(_STDOUT_CLOSED) from None


# -- leftovers, locks and renames ---------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OverflowError:
        return False
    return True


def _stem(target: Path) -> str:
    """What staging and lock names beside ``target`` are made from: its name, or a hash of a long one."""
    if len(os.fsencode(target.name)) <= _LONG_NAME:
        return target.name
    return "long-name-" + hashlib.sha256(os.fsencode(target.name)).hexdigest()[:16]


def leftovers(target: Path) -> list[tuple[Path, str]]:
    """Staging (``tmp``) and moved-aside (``old``) copies of ``target`` left by processes now gone."""
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    found = []
    for name in names:
        match = _LEFTOVER.fullmatch(name)
        if match and match["name"] == _stem(target) and not pid_alive(int(match["pid"])):
            found.append((target.parent / name, match["kind"]))
    return found


def recover(target: Path, is_ours: Callable[[Path], bool]) -> None:
    """Put back a directory that a killed run had moved aside, if nothing took its place and
    ``is_ours`` says it is what the run was replacing (a user's folder that merely has a similar
    name is never moved)."""
    if os.path.lexists(target):
        return
    moved = sorted((path for path, kind in leftovers(target) if kind == "old"), key=_mtime, reverse=True)
    for path in moved:
        if is_ours(path):
            with contextlib.suppress(OSError):
                os.rename(path, target)
                return


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def sweep(target: Path, is_ours: Callable[[Path], bool] | None = None) -> None:
    """Remove staging copies of ``target`` that dead processes left behind; with ``is_ours``, first
    put back a moved-aside directory if ``target`` is missing, and remove stale moved-aside ones."""
    if is_ours is not None:
        recover(target, is_ours)
    for path, kind in leftovers(target):
        if kind == "tmp" or (is_ours is not None and is_ours(path)):
            _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        _rmtree(path)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _rmtree(path: Path) -> None:
    """Remove a directory tree we made or replaced, even one whose folders were made read-only."""

    def writable_then_retry(function: Callable[..., object], name: str, _: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            function(name)

    shutil.rmtree(path, onerror=writable_then_retry)  # noqa: B026 - onexc needs Python 3.12


@dataclass
class _Lock:
    """An exclusive lock on one destination, held from the check to the commit."""

    path: Path
    fd: int

    @classmethod
    def acquire(cls, target: Path, given: str) -> _Lock | None:
        if fcntl is None:  # pragma: no cover - Windows
            return None
        path = target.parent / f".{_stem(target)}.lock"
        while True:
            fd, created = _open_lock_file(path, given)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise OutputError(
                    f"{given}: another lstmcast run (pid {holder}) is writing it; wait for that run to finish "
                    "or choose another output"
                ) from None
            # The previous holder may have removed the file between our open and our lock: retry then.
            if _same_file(fd, path):
                if created:  # the pid is for the message only, and only ever written into our own new file
                    with contextlib.suppress(OSError):  # a full disk may refuse it
                        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                return cls(path, fd)
            os.close(fd)

    def release(self) -> None:
        # Removed before closing, so a run waiting on this file sees it is gone and retries; and only
        # if the name still points at our file.
        if _same_file(self.fd, self.path):
            with contextlib.suppress(OSError):
                self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _open_lock_file(path: Path, given: str) -> tuple[int, bool]:
    """Open (or create) the lock file without following a symlink planted in its place, and refuse
    anything but a plain file with one name: a lock must never truncate, write to or remove a file
    that is not ours."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666 & ~current_umask()), True
    except FileExistsError:
        pass
    except OSError as exc:
        raise OutputError(f"{given}: cannot write in {path.parent} ({_reason(exc)})") from None
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(
                f"{given}: its lock file {path} is a symlink; remove it if no lstmcast run is using it"
            ) from None
        raise OutputError(
            f"{given}: its lock file {path} cannot be opened ({_reason(exc)}); remove it if no lstmcast run is using it"
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        raise OutputError(f"{given}: {path} is not an lstmcast lock file; move it away")
    return fd, False


def _same_file(fd: int, path: Path) -> bool:
    try:
        held, named = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino)


class _CannotExchange(Exception):
    pass


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths in one atomic step (Linux renameat2 with RENAME_EXCHANGE)."""
    if not sys.platform.startswith("linux"):
        raise _CannotExchange
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        raise _CannotExchange from None
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        raise _CannotExchange
    raise OSError(code, os.strerror(code), str(b))


def _between_renames() -> None:
    """Called between the two renames of the fallback swap; tests inject faults here."""


def swap_directory(staging: Path, target: Path) -> None:
    """Put ``staging`` at ``target``; the old directory there is removed once the new one is in place."""
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    try:
        _exchange(staging, target)
    except _CannotExchange:
        _swap_in_two_renames(staging, target)
        return
    _rmtree(staging)  # it now holds the old directory


def _swap_in_two_renames(staging: Path, target: Path) -> None:
    moved = target.parent / (staging.name[: -len(".tmp")] + ".old")
    os.rename(target, moved)
    try:
        _between_renames()
        os.rename(staging, target)
    except BaseException:
        os.rename(moved, target)
        raise
    _rmtree(moved)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done, then act on them: an interrupt can come
    before or after a commit, never in the middle of one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


# -- the outputs of one command -----------------------------------------------------------------


@dataclass
class Output:
    """One reserved output: a file, a model directory, or a stream written through."""

    destination: Destination
    directory: bool = False
    staging: Path | None = None  # where the payload is written before the commit
    payload: bytes | None = None
    lock: _Lock | None = field(default=None, repr=False)

    @property
    def given(self) -> str:
        return self.destination.given

    def set(self, payload: bytes) -> None:
        """The bytes this file output will hold once committed."""
        if self.directory:
            raise TypeError("a directory output is filled by writing into its staging directory")
        self.payload = payload


def _check_not_in_a_model(destination: Destination) -> None:
    """No output goes into an lstmcast model directory, whether it would replace one of the model's
    files or add a new one: a model directory holds only a model's files, so one with anything else
    in it is refused as a model output later (artifact.check_replaceable), and its own files are
    never someone's report."""
    from lstmcast.artifact import is_model_dir  # artifact writes models through this module

    folder = destination.path.parent
    if not is_model_dir(folder):
        return
    named = Path(destination.given).parent  # the folder as the user wrote it, unless a symlink led elsewhere
    shown = named if Path(os.path.realpath(named)) == folder else folder
    if os.path.lexists(destination.path):
        raise OutputError(f"{destination.given}: is a file of the lstmcast model {shown}; write it elsewhere")
    raise OutputError(
        f"{destination.given}: is inside the lstmcast model directory {shown}, which holds only a model's files; "
        "write it elsewhere"
    )


class Outputs:
    """Every output of one command: reserved up front with ``file``/``directory``, filled during the
    work, written all together by ``commit``; ``discard`` (or leaving the ``with`` block on an error)
    removes what was staged and leaves every destination as it was."""

    def __init__(self) -> None:
        self._outputs: list[Output] = []
        self._inputs: list[tuple[Path, str]] = []
        self.committed = False

    def inputs(self, *paths: str | Path | None) -> None:
        """Name what the command reads (data files, the model it loads): no output may replace one of
        them or anything inside one. Call before reserving the outputs."""
        for path in paths:
            if path is not None and str(path) != STDOUT and os.path.lexists(path):
                self._inputs.append((Path(os.path.realpath(path)), str(path)))

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if not self.committed:
            self.discard()

    def file(self, dest: str | Path) -> Output:
        """Reserve a file output (``-`` is standard output, at most once)."""
        destination = resolve(dest)
        if destination.is_stdout and any(o.destination.is_stdout for o in self._outputs):
            raise OutputError("only one output can go to standard output (-); send the others to files")
        return self._reserve(destination, directory=False)

    def directory(
        self,
        dest: str | Path,
        check: Callable[[Path, str], None] | None = None,
        is_ours: Callable[[Path], bool] | None = None,
    ) -> Output:
        """Reserve a directory output; ``check(path, given)`` refuses a directory that is not ours to
        replace, and ``is_ours(path)`` tells a moved-aside copy left by a killed run (to put back or sweep)."""
        destination = resolve(dest, directory=True)
        if os.path.ismount(destination.path):
            raise OutputError(
                f"{destination.given}: is a mount point, which cannot be replaced by a rename; "
                "write the model to a folder inside it"
            )
        return self._reserve(destination, directory=True, check=check, is_ours=is_ours)

    def _reserve(
        self,
        destination: Destination,
        directory: bool,
        check: Callable[[Path, str], None] | None = None,
        is_ours: Callable[[Path], bool] | None = None,
    ) -> Output:
        output = Output(destination, directory=directory)
        if destination.stream:
            self._outputs.append(output)
            return output
        self._check_overlap(destination, directory)
        _check_not_in_a_model(destination)
        target = destination.path
        output.lock = _Lock.acquire(target, destination.given)
        self._outputs.append(output)  # from here on, discard releases the lock
        sweep(target, is_ours)
        if check is not None:
            check(target, destination.given)
        output.staging = _make_staging(target, destination.given, directory)
        return output

    def _check_overlap(self, destination: Destination, directory: bool) -> None:
        """No output may replace an input, another output, or anything inside a directory output."""
        target = destination.path
        for path, given in self._inputs:
            if target == path or path in target.parents or (directory and target in path.parents):
                raise OutputError(
                    f"{destination.given}: would replace {given}, which this command reads; choose another output"
                )
        for other in self._outputs:
            if other.destination.stream:
                continue
            if other.destination.path == target:
                raise OutputError(f"{destination.given}: named twice as an output of this command")
            inside = (other.directory and other.destination.path in target.parents) or (
                directory and target in other.destination.path.parents
            )
            if inside:
                raise OutputError(
                    f"{destination.given}: is inside the model directory {other.given} (or holds it), which "
                    "this command replaces; write it elsewhere"
                )

    def commit(self) -> None:
        """Write every output: staged files, then streams, then every rename, with signals held."""
        missing = [o.given for o in self._outputs if not o.directory and o.payload is None]
        if missing:
            raise RuntimeError(f"outputs reserved but never filled: {', '.join(missing)}")
        for output in self._outputs:
            if output.staging is not None:
                _finish_staging(output)
        for output in self._outputs:
            if output.destination.stream:
                _write_stream(output.destination, output.payload or b"")
        # Files first and directories (models) last: a failed rename stops before the model is touched.
        with signals_held():
            for output in sorted(self._outputs, key=lambda o: o.directory):
                if output.staging is not None:
                    _put_in_place(output.staging, output)
                    output.staging = None
            self.committed = True
        self._release()

    def discard(self) -> None:
        """Remove everything staged and release the locks; destinations are left as they were.
        A second Ctrl-C waits until this is done, so it cannot leave staging files behind."""
        with signals_held():
            for output in self._outputs:
                if output.staging is not None:
                    _remove(output.staging)
                    output.staging = None
            self._release()

    def _release(self) -> None:
        for output in self._outputs:
            if output.lock is not None:
                output.lock.release()
                output.lock = None


def _make_staging(target: Path, given: str, directory: bool) -> Path:
    prefix, suffix = f".{_stem(target)}.{os.getpid()}-", ".tmp"
    try:
        if directory:
            staging = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=target.parent))
            os.chmod(staging, 0o777 & ~current_umask())
            return staging
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{given}: cannot write in {target.parent} ({_reason(exc)})") from None
    os.close(fd)
    return Path(name)


def _finish_staging(output: Output) -> None:
    assert output.staging is not None
    if output.directory:
        _sync_directory(output.staging, output.given, output.destination.path)
    else:
        _write_file(output.staging, output.payload or b"", output.given, output.destination.path)


def _put_in_place(staging: Path, output: Output) -> None:
    try:
        if output.directory:
            swap_directory(staging, output.destination.path)
        else:
            os.replace(staging, output.destination.path)
    except OSError as exc:
        raise OutputError(f"{output.given}: could not be put in place ({_reason(exc)})") from None


def _write_file(staging: Path, payload: bytes, given: str, target: Path) -> None:
    try:
        with open(staging, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_mode(staging, target)
    except OSError as exc:
        raise OutputError(f"{given}: could not be written ({_reason(exc)}); it is unchanged") from None


def _copy_mode(staging: Path, target: Path) -> None:
    """A replaced file keeps its permissions (and owner, where allowed); a new one follows the umask."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        os.chmod(staging, 0o666 & ~current_umask())
        return
    os.chmod(staging, stat.S_IMODE(old.st_mode))
    with contextlib.suppress(OSError):
        os.chown(staging, old.st_uid, old.st_gid)


def _sync_directory(staging: Path, given: str, target: Path) -> None:
    """Flush the staged files; they (and the folder) take the permissions of the directory they
    replace and of its files of the same name, or follow the umask when new."""
    try:
        for file in staging.iterdir():
            _copy_mode(file, target / file.name)
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
        if os.path.isdir(target):
            _copy_mode(staging, target)
    except OSError as exc:
        raise OutputError(f"{given}: could not be written ({_reason(exc)}); it is unchanged") from None


def _write_stream(destination: Destination, payload: bytes) -> None:
    """Standard output or a device, FIFO or socket: written through, never replaced."""
    try:
        if destination.is_stdout:
            _write_stdout(payload)
            return
        if destination.fd is not None:
            _write_all(destination.fd, payload)
            return
        with open(destination.path, "ab") as handle:  # never truncates: a device or pipe is written through
            handle.write(payload)
            handle.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: a stream closed under us
        where = "standard output" if destination.is_stdout else destination.given
        reason = _reason(exc) if isinstance(exc, OSError) else "it is closed"
        raise OutputError(f"{where}: could not be written ({reason}); no file was changed") from None


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _write_stdout(payload: bytes) -> None:
    if sys.stdout is None:
        raise OutputError(_STDOUT_CLOSED)
    stream = sys.stdout.buffer
    view = memoryview(payload)
    while view:
        # Under PYTHONUNBUFFERED=1 (most container images) or `python -u`, stdout is a raw file: one
        # write(2), and what it took is returned. A reader that leaves mid-write (`| head`) or a signal
        # cuts it short; the next write raises BrokenPipeError instead of the rest being dropped.
        written = stream.write(view)
        if not written:  # None: a non-blocking stdout that is full
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        view = view[written:]
    stream.flush()
