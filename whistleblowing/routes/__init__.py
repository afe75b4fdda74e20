"""The reporting channel's pages, by audience: `public` (reporters, anonymous), `investigator`
(cases), `intake` (reports entered by staff), `handlers` (absences, declared interests,
identity requests), `admin` (channels, tags, statistics), `notifications`, and `protection`
(retaliation complaints). `common` holds what they share."""
