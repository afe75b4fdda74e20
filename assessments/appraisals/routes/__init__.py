"""Appraisal pages and JSON, by audience: `plan`, `supervisor` (team objectives, objectives, the
dialogue, reviews), `hr` (cycles, calibration, training), `api`, and `employee` (the home page
and one appraisal's page, registered last: its `/{appraisal_id}` follows the fixed addresses).
"""
