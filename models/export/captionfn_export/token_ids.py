"""Generated ids as the fixtures and the server hold them (standard library only)."""


def until_eos(ids, eos_ids):
    """The ids up to and including the first EOS; all of them when none is an EOS."""
    out = []
    for i in ids:
        out.append(int(i))
        if i in eos_ids:
            break
    return out
