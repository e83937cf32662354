"""The rescue prompt is a playable 8 kHz WAV: spoken French when espeak-ng is there, else a tone."""

import shutil
import wave

from samu_keeper import prompt


def test_the_prompt_is_a_playable_8k_wav(tmp_path):
    path = tmp_path / "restez-en-ligne.wav"
    kind = prompt.generate(path)
    assert kind == ("speech" if shutil.which("espeak-ng") else "tone")
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        seconds = wav.getnframes() / wav.getframerate()
    assert 1.0 <= seconds <= 5.0  # a short message, not silence and not a speech


def test_without_espeak_ng_a_tone_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(prompt.shutil, "which", lambda _name: None)
    path = tmp_path / "p.wav"
    assert prompt.generate(path) == "tone"
    with wave.open(str(path)) as wav:
        assert wav.getnframes() == 8000 * prompt.TONE_SECONDS
