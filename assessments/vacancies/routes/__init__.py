"""The competitions' pages and JSON, one module per audience.

`public` (the board, notices, candidate registration), `candidate` (applying, the test,
appeals), `panel` (declarations, scores, consensus), `hr` (drafting to the stages), `bank` (the
question bank), `outcomes` (applications seen by HR, the merit list, appeals, appointment),
`integrity` (the dashboard) and `api` (JSON under /api/v1). `common` holds what they share.
"""
