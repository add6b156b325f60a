"""Where each input's results go: output names (the files are written by :mod:`whispercli.job`)."""

from __future__ import annotations

import os


def output_base(input_name: str, of_value: str | None, output_dir: str | None, strip_ext: bool) -> str:
    """The path without extension, as whisper-cli names it unless told otherwise.

    whisper-cli: the ``-of`` value, else the full input path (``a.wav`` -> ``a.wav.srt``).
    ``strip_ext`` drops the input's extension (``a.srt``); ``output_dir`` moves the
    file there, keeping its base name.
    """
    if of_value is not None:
        base = of_value
    elif input_name == "-":
        base = "stdin"
    else:
        base = input_name
        if strip_ext:
            root, ext = os.path.splitext(base)
            base = root if ext else base
    if output_dir is not None and of_value is None:
        base = os.path.join(output_dir, os.path.basename(base))
    return base
