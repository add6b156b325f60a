"""Progress on stderr: a rich display on a terminal, whisper-cli's ``-pp`` lines, or nothing."""

from __future__ import annotations

import sys
import time


class FileTask:
    """One input's progress: what ``start_file`` returns; ``update`` it with percents."""

    def __init__(self, owner, name: str, audio_s: float) -> None:
        self.owner = owner
        self.name = name
        self.audio_s = audio_s
        self.t0 = time.perf_counter()
        self.prev = 0  # -pp: the last 5 % step printed
        self.task_id = None

    def update(self, percent: int) -> None:
        self.owner._update(self, percent)


class NullProgress:
    """No display (stderr is not a terminal, or -np)."""

    live = False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def start_file(self, name: str, audio_s: float) -> FileTask:
        return FileTask(self, name, audio_s)

    def _update(self, task: FileTask, percent: int) -> None:
        pass

    def finish_file(self, task: FileTask | None, ok: bool) -> None:
        pass

    def summary(self, text: str) -> None:
        pass

    def print_stdout(self, data: bytes) -> None:
        """Transcript bytes for stdout (results), written and flushed as whisper-cli does per segment."""
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


class LinesProgress(NullProgress):
    """whisper-cli's ``-pp``: a line every 5 %, exactly as it prints them."""

    step = 5

    def _update(self, task: FileTask, percent: int) -> None:
        if percent >= task.prev + self.step:
            task.prev += self.step
            sys.stderr.write(f"whisper_print_progress_callback: progress = {percent:3d}%\n")
            sys.stderr.flush()


class RichProgress(NullProgress):
    """Per file: percent, elapsed, ETA, audio seconds per second; overall for many files."""

    live = True

    def __init__(self, n_files: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self.console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[speed]}"),
            console=self.console,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._overall = None
        self._n_files = n_files
        self._shared_terminal = _same_terminal(sys.stdout, sys.stderr)
        self._pending = b""  # a shared terminal's unfinished line (-nt prints no newlines)

    def __enter__(self):
        self._progress.__enter__()
        if self._n_files > 1:
            self._overall = self._progress.add_task(f"{self._n_files} files", total=self._n_files, speed="")
        return self

    def start_file(self, name: str, audio_s: float) -> FileTask:
        task = FileTask(self, name, audio_s)
        label = name if len(name) <= 32 else "…" + name[-31:]
        task.task_id = self._progress.add_task(label, total=100, speed="")
        return task

    def _update(self, task: FileTask, percent: int) -> None:
        elapsed = max(time.perf_counter() - task.t0, 1e-6)
        speed = f"{task.audio_s * percent / 100 / elapsed:5.1f} audio-s/s" if percent else ""
        self._progress.update(task.task_id, completed=percent, speed=speed)

    def finish_file(self, task: FileTask | None, ok: bool) -> None:
        if task is not None:
            elapsed = max(time.perf_counter() - task.t0, 1e-6)
            self._progress.update(task.task_id, completed=100 if ok else None,
                                  speed=f"{task.audio_s / elapsed:5.1f} audio-s/s" if ok else "failed")
        if self._overall is not None:
            self._progress.advance(self._overall)

    def summary(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def print_stdout(self, data: bytes) -> None:
        """Scroll transcript lines above the live bars when stdout is the bars' terminal.

        Written straight to the terminal, the lines would land wherever the bars left the
        cursor, and each redraw would overwrite or split them.  Rich prints text above a
        live display only through the display's own console, so on a shared terminal whole
        lines go that way (stdout and stderr are the same screen there); a file or a pipe
        on stdout gets the bytes untouched.
        """
        if not self._shared_terminal:
            super().print_stdout(data)
            return
        from rich.text import Text

        self._pending += data
        lines, sep, self._pending = self._pending.rpartition(b"\n")
        if sep:
            self.console.print(Text.from_ansi((lines + sep).decode("utf-8", "replace")), end="",
                               soft_wrap=True, highlight=False, markup=False)

    def __exit__(self, *exc) -> None:
        if self._pending:
            self.print_stdout(b"\n")
        self._progress.__exit__(*exc)


def _same_terminal(a, b) -> bool:
    """Whether two streams are one terminal (same device), e.g. an interactive shell's stdout and stderr."""
    import os

    try:
        if not (a.isatty() and b.isatty()):
            return False
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (sa.st_rdev, sa.st_ino) == (sb.st_rdev, sb.st_ino)


def make_progress(n_files: int, *, no_prints: bool, print_progress: bool, stdout_is_output: bool):
    if print_progress:
        # whisper-cli turns -pp off when the output goes to stdout.
        return NullProgress() if stdout_is_output else LinesProgress()
    if no_prints or not sys.stderr.isatty():
        return NullProgress()
    return RichProgress(n_files)
