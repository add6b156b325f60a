"""Running the inputs of ``transcribe`` on the loaded model: one after another, or ``--jobs N`` at once.

Each input is one :func:`whispercli.job.run_job`; this module does only the terminal's part
(live segment lines, progress, one error line per failed input).
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from ..errors import AudioError, OutputError
from ..options import TranscribeOptions
from ._console import err

if TYPE_CHECKING:
    from .transcribe import RunSettings, _Input


class Runner:
    """Runs :func:`whispercli.job.run_job` per input and does the terminal's part."""

    def __init__(self, model, model_label: str, options: TranscribeOptions, settings: RunSettings, progress) -> None:
        self.model = model
        self.model_label = model_label
        self.options = options
        self.settings = settings
        self.progress = progress

    def sequential(self, inputs: list[_Input]) -> list:
        """Inputs one after another; each result is audio seconds, None (skipped) or the error."""
        return [self._guarded(item, live=True, abort=None) for item in inputs]

    def parallel(self, inputs: list[_Input]) -> list:
        """``--jobs N``: N inputs at once on the one model, each with its own whisper_state.

        The threads are split between the jobs.  Each file's live lines are printed as
        one block when it finishes, so files never interleave on stdout.  Ctrl-C sets a
        flag every running transcription polls, then exits 130 like the sequential path.
        """
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        n_jobs = min(self.settings.jobs, len(inputs))
        self.options = self.options.replace(threads=max(1, self.options.threads // n_jobs))
        stop = threading.Event()
        results: list = [None] * len(inputs)
        with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="whispercli-job") as pool:
            futures = {pool.submit(self._guarded, item, live=False, abort=stop.is_set): i
                       for i, item in enumerate(inputs)}
            pending = set(futures)
            try:
                while pending:
                    finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    for future in finished:
                        results[futures[future]] = future.result()
            except BaseException:
                stop.set()
                for future in pending:
                    future.cancel()
                wait(pending)
                raise
        return results

    def _guarded(self, item: _Input, *, live: bool, abort):
        """One input; a failure of this input is returned (and reported), not raised."""
        if item.error is not None:
            if not item.reported:
                err(f"whispercli: error: {item.error}")
            return item.error
        try:
            return self._one(item, live=live, abort=abort)
        except (AudioError, OutputError) as exc:
            err(f"whispercli: error: {exc}")
            return exc

    def _one(self, item: _Input, *, live: bool, abort) -> float | None:
        from ..job import JobHooks, outputs_exist, run_job
        from ..writers import write_format

        o = self.options
        if self.settings.skip_existing and item.output_base is not None and outputs_exist(item.output_base, o.formats):
            err(f"whispercli: skipping {item.name!r}: outputs exist")
            return None
        printer = live_printer(o)
        held: list[bytes] = []  # --jobs: this file's lines, printed as one block at the end
        task = None

        def on_audio(audio_s: float) -> None:
            nonlocal task
            task = self.progress.start_file(item.name, audio_s)

        def on_segment(seg, speaker) -> None:
            line = printer.segment(seg, speaker)
            if live:
                self.progress.print_stdout(line)
            else:
                held.append(line)

        hooks = JobHooks(on_audio=on_audio, on_segment=None if item.output_base is None else on_segment,
                         on_progress=lambda pct: task.update(pct), abort=abort)
        if o.processors > 1:
            err(f"whispercli: warning: -p {o.processors}: the audio is split into chunks; "
                "quality may drop at the split points")
        try:
            result = run_job(self.model, item.name, o, input_name=item.name, output_base=item.output_base,
                             model_label=self.model_label, hooks=hooks)
        except BaseException:
            self.progress.finish_file(task, False)
            raise
        self.progress.finish_file(task, True)
        if held:
            self.progress.print_stdout(b"".join(held))
        if o.detect_language:
            err(f"whispercli: {item.name}: detected language: {result.transcript.language}")
        if item.output_base is None and o.formats:
            write_format(o.formats[0], result.transcript, sys.stdout.buffer, result.context)
            sys.stdout.buffer.flush()
        return result.audio_s


def live_printer(o: TranscribeOptions):
    """The stdout segment lines whisper-cli prints as it decodes, for these options."""
    from ..writers.live import LiveOptions, LivePrinter

    return LivePrinter(LiveOptions(
        no_timestamps=o.no_timestamps, diarize=o.diarize, print_colors=o.print_colors,
        print_confidence=o.print_confidence, print_special=o.print_special, tinydiarize=o.tinydiarize,
        compat=o.compat,
    ))
