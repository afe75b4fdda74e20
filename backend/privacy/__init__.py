"""Privacy under Mexico's LGPDPPSO: privacy notices, a person's data export, ARCO requests and
retention rules (docs/privacy.md).

A core package: it imports no domain. Domains contribute through two hook moments
(`backend/plugins.py`): `privacy.export` (what a domain holds about a person, as tables) and
`privacy.retention` (a domain's retention rules, each with the one function that lists what is
past its period and the one that deletes or anonymises exactly those records). The shapes both
hooks return are in `backend.privacy.contracts`.
"""
