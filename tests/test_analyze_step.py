"""The analyze step's own input checks (blueprints/pipeline_steps.analyze_video_step): a
video's speaker settings are validated before any work, and a bad one fails the video
with a reason that names it."""

from __future__ import annotations

from blueprints.pipeline_steps import PipelineInput, analyze_video_step


def test_bad_speaker_settings_fail_the_video_with_their_reason(app_settings, tmp_path):
    app_settings(DATA_DIR=str(tmp_path / "data"))
    result = analyze_video_step({"tenant_id": "t", "video_id": "v", "blob_path": "t/v.mp4", "duration_s": 1.0,
                                 "chunks": [], "speakers": {"educator": "loudest"}})
    assert result["ok"] is False
    assert result["reason"].startswith("bad speaker settings for this video: speaker setting educator='loudest'")


def test_speaker_settings_ride_in_the_pipeline_input_and_old_inputs_still_load():
    job = PipelineInput("t", "v", "t/v.mp4", 30.0, 2.0, 600.0, 3, 10800.0, speakers={"child_pitch_hz": 300})
    assert PipelineInput.from_dict(job.to_dict()) == job
    assert job.video()["speakers"] == {"child_pitch_hz": 300}
    old = {k: v for k, v in job.to_dict().items() if k != "speakers"}  # an orchestration started before the field
    assert PipelineInput.from_dict(old).speakers is None and "speakers" not in PipelineInput.from_dict(old).video()
