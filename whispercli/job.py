"""One input, start to finish: decode → transcribe → write the selected formats atomically.

:func:`run_job` is the unit of work that every client runs: the CLI's sequential and
``--jobs`` runners, the server's workers and the cluster's tasks.  Clients add only
their own I/O (a terminal, an HTTP body, bytes shipped to a worker) through
:class:`JobHooks` and the returned :class:`JobResult`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Callable

from .constants import SAMPLE_RATE
from .errors import TranscriptionAborted
from .options import TranscribeOptions, for_model, to_full_params


@dataclass(frozen=True)
class JobHooks:
    """What a client hears while a job runs; every hook is optional and runs on the calling thread.

    ``on_audio(audio_s)`` once the input is decoded; ``on_samples(samples)`` then, with the
    float32 16 kHz mono samples the model is given (for a client's own pass over them, such
    as the server's language probabilities); ``on_segment(segment, speaker)`` as each
    segment is decoded (``speaker`` is ``"0"``/``"1"``/``"?"`` with ``diarize``, else None);
    ``on_progress(percent)``; ``abort()`` is polled and stops the computation when true
    (the job then raises :class:`TranscriptionAborted` carrying the partial transcript).
    """

    on_audio: Callable[[float], None] | None = None
    on_samples: Callable[[object], None] | None = None
    on_segment: Callable[[object, str | None], None] | None = None
    on_progress: Callable[[int], None] | None = None
    abort: Callable[[], bool] | None = None


@dataclass(frozen=True)
class JobResult:
    transcript: object  # whispercli.types.Transcript
    context: object  # whispercli.writers.OutputContext: what every writer needs
    formats: tuple[str, ...]
    written: tuple[str, ...] = ()  # paths of the files written, in write order
    # what the job changed in the options for this model (options.for_model's words), for a client
    # that did not see the model itself (a cluster client) to say what a local run says
    warnings: tuple[str, ...] = ()

    @property
    def audio_s(self) -> float:
        return self.context.n_samples / SAMPLE_RATE

    def render(self, fmt: str) -> bytes:
        """The bytes format ``fmt`` writes for this result (what a file would hold)."""
        import io

        from .writers import write_format

        buf = io.BytesIO()
        write_format(fmt, self.transcript, buf, self.context)
        return buf.getvalue()


def output_paths(output_base: str, formats: tuple[str, ...]) -> list[str]:
    """The files a job with this base writes, in write order."""
    from .writers import FORMATS

    return [output_base + FORMATS[fmt].extension for fmt in formats]


def outputs_exist(output_base: str, formats: tuple[str, ...]) -> bool:
    """True when every selected output is already there (``--skip-existing``)."""
    paths = output_paths(output_base, formats)
    return bool(paths) and all(os.path.exists(p) for p in paths)


def run_job(
    model,
    source,
    options: TranscribeOptions,
    *,
    input_name: str | None = None,
    output_base: str | None = None,
    model_label: str | None = None,
    hooks: JobHooks = JobHooks(),
) -> JobResult:
    """Transcribe one input with ``options`` (validated by :func:`whispercli.options.validate`).

    ``source``: a path, ``"-"`` (stdin), bytes or a binary stream, or float32 16 kHz mono
    samples.  ``input_name`` is what the outputs call the input (whisper-cli: the path as
    given).  With ``output_base`` the selected formats are written to ``output_base +
    extension``, each atomically; without it nothing is written and the client renders
    what it needs with :meth:`JobResult.render`.  ``model_label`` is the model as the user
    named it (JSON ``params.model``).
    """
    from .fileio import ensure_writable_dir

    options, warnings = for_model(options, multilingual=model.is_multilingual)  # the client says it, not the job
    if output_base is not None and options.formats:
        ensure_writable_dir(os.path.dirname(output_base) or ".")  # fail before the work, not after
    samples, stereo = _decode(source, options)
    if hooks.on_audio is not None:
        hooks.on_audio(len(samples) / SAMPLE_RATE)
    if hooks.on_samples is not None:
        hooks.on_samples(samples)
    transcript = _transcribe(model, samples, stereo, options, hooks)
    name = input_name if input_name is not None else (source if isinstance(source, str) else "<audio>")
    context = output_context(model, transcript, options, stereo=stereo, n_samples=len(samples),
                             input_name=name, output_base=output_base or name, model_label=model_label)
    result = JobResult(transcript, context, options.formats, warnings=tuple(warnings))
    if output_base is not None:
        result = write_outputs(result, output_base)
    return result


def write_outputs(result: JobResult, output_base: str) -> JobResult:
    """Write ``result``'s formats to ``output_base + extension``, each atomically (a reader never sees
    half a file; a failure leaves no partial file).  Returns the result with the paths written.

    Also how a client writes a result that was computed elsewhere (a cluster worker).
    """
    from .fileio import atomic_write
    from .writers import FORMATS

    context = result.context
    if context.output_base != output_base:
        context = dataclasses.replace(context, output_base=output_base)
    written: list[str] = []
    for fmt in result.formats:
        path = output_base + FORMATS[fmt].extension
        with atomic_write(path) as fp:
            FORMATS[fmt].write(result.transcript, fp, context)
        written.append(path)
    return dataclasses.replace(result, context=context, written=tuple(written))


def _decode(source, options: TranscribeOptions):
    """Mono samples for the model, plus the stereo pair with ``diarize`` (whisper-cli feeds L+R)."""
    import numpy as np

    from .audio import load_audio

    if isinstance(source, np.ndarray):
        return source, None
    if options.diarize:
        stereo = load_audio(source, stereo=True)
        return np.ascontiguousarray(stereo[:, 0] + stereo[:, 1]), stereo
    return load_audio(source), None


def _transcribe(model, samples, stereo, options: TranscribeOptions, hooks: JobHooks):
    from .diarize import estimate_speakers

    on_segment = None
    if hooks.on_segment is not None:
        def on_segment(seg) -> None:
            speaker = estimate_speakers(stereo, [seg])[0] if stereo is not None else None
            hooks.on_segment(seg, speaker)

    params = to_full_params(options)
    if options.processors > 1:
        from .transcribe import transcribe_parallel

        transcript = transcribe_parallel(model, samples, params, options.processors,
                                         on_segment=on_segment, on_progress=hooks.on_progress)
    else:
        transcript = model.transcribe(samples, params, on_segment=on_segment, on_progress=hooks.on_progress,
                                      abort=hooks.abort)
    if transcript.aborted:
        raise TranscriptionAborted("interrupted", transcript)
    return transcript


def output_context(model, transcript, options: TranscribeOptions, *, stereo, n_samples: int, input_name: str,
                   output_base: str, model_label: str | None):
    """What the writers need besides the transcript, as whisper-cli holds it when writing."""
    from . import system
    from .diarize import estimate_speakers
    from .writers import OutputContext

    params = to_full_params(options)
    return OutputContext(
        input_path=input_name,
        output_base=output_base,
        model_path=model_label if model_label is not None else str(model.path),
        language_arg=params.language or "auto",
        translate=params.translate,
        system_info=system.system_info(exact=params.exact),
        model_info=model.info,
        n_samples=n_samples,
        speakers=estimate_speakers(stereo, transcript.segments) if stereo is not None else None,
        tinydiarize=options.tinydiarize,
        offset_n=options.offset_n,
        font_path=options.font_path,
        max_len=options.max_len,
        compat=options.compat,
    )
