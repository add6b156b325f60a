"""``transcribe --cluster``: the terminal's part of a cluster run (the work is :mod:`whispercli.cluster`)."""

from __future__ import annotations

from ..errors import AudioError, ClusterError, OutputError, WhisperCliError
from ._console import err


def run_cluster(settings, options, inputs, progress) -> list:
    """Each input's result as the local runners give it: audio seconds, None (skipped) or the error.

    Outputs are written here, atomically, as each result arrives; the segment lines of a file
    are printed as one block when it is done (files finish in any order).
    """
    from ..cluster import ModelSpec, TaskInput, open_cluster, run_on_cluster
    from ..job import JobResult, outputs_exist, write_outputs
    from ._runner import live_printer

    results: list = [None] * len(inputs)
    todo = []
    for i, item in enumerate(inputs):
        if item.error is not None:
            if not item.reported:
                err(f"whispercli: error: {item.error}")
            results[i] = item.error
        elif settings.skip_existing and outputs_exist(item.output_base, options.formats):
            err(f"whispercli: skipping {item.name!r}: outputs exist")
        else:
            todo.append(i)
    spec = ModelSpec(settings.model, use_gpu=settings.use_gpu, flash_attn=settings.flash_attn,
                     gpu_device=settings.gpu_device, dtw=options.dtw or None)
    tasks = [TaskInput(inputs[i].name, inputs[i].name, options, settings.model, shared=settings.cluster_shared)
             for i in todo]
    warned: set[str] = set()  # the model is the workers': its warnings come back with the results, said once
    with open_cluster(settings.cluster) as client:
        outcomes = run_on_cluster(client, spec, tasks)
        try:
            for k, outcome in outcomes:
                for warning in outcome.warnings if isinstance(outcome, JobResult) else ():
                    if warning not in warned:
                        warned.add(warning)
                        err(f"whispercli: warning: {warning}")
                i = todo[k]
                results[i] = _finish(inputs[i], outcome, options, progress, write_outputs, live_printer)
        finally:
            outcomes.close()  # cancels what is still queued or running (Ctrl-C)
    return results


def _finish(item, outcome, options, progress, write_outputs, live_printer):
    if isinstance(outcome, WhisperCliError):
        if not isinstance(outcome, (AudioError, OutputError, ClusterError)):
            raise outcome
        err(f"whispercli: error: {outcome}")
        task = progress.start_file(item.name, 0.0)
        progress.finish_file(task, False)
        return outcome
    task = progress.start_file(item.name, outcome.audio_s)
    try:
        write_outputs(outcome, item.output_base)
    except OutputError as exc:
        progress.finish_file(task, False)
        err(f"whispercli: error: {exc}")
        return exc
    progress.finish_file(task, True)
    printer = live_printer(options)
    speakers = outcome.context.speakers
    lines = b"".join(printer.segment(seg, speakers[n] if speakers else None)
                     for n, seg in enumerate(outcome.transcript.segments))
    if lines:
        progress.print_stdout(lines)
    if options.detect_language:
        err(f"whispercli: {item.name}: detected language: {outcome.transcript.language}")
    return outcome.audio_s
