"""The training routers, by audience: `employee` (my training), `supervisor` (my people's
plans, mentors), `catalogue` (browsing, iCalendar), `hr` (administration under
/training/manage), `needs` (planners' analysis) and `api` (JSON). `common` holds what they
share and registers the navigation entries. The plugin lists them in the order they are
mounted."""
