"""Walking a paged collection to its end, for tests that check paging never skips or repeats."""


def page_all(inbox, limit):
    """Walk an inbox (or anything with ``page(before, limit)``) page by page; return every item."""
    seen, before = [], None
    while True:
        page, before, _ = inbox.page(before, limit)
        seen.extend(page)
        if before is None:
            return seen
