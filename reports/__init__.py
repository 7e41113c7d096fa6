"""Reports: render one RunResult as table, JSON, JUnit XML, Markdown or HTML."""
