"""Sensitive data: find, validate, locate, mask and fingerprint values in API traffic.

* :mod:`~apisight.sensitive.catalog` — recognizers as data (``recognizers.yaml``);
* :mod:`~apisight.sensitive.validators` — checksums and rules (python-stdnum, phonenumbers);
* :mod:`~apisight.sensitive.scanner` — one Hyperscan pass per batch, findings frame;
* :mod:`~apisight.sensitive.bodies` — body decoding (base64, gzip/br/deflate, binary, caps);
* :mod:`~apisight.sensitive.urlcoding` — percent-decoding, with offsets mapped back;
* :mod:`~apisight.sensitive.fieldpath` — field paths (``$.accounts[0].iban``, ``header:location``);
* :mod:`~apisight.sensitive.stage` — the stage in normalisation: which columns, masking;
* :mod:`~apisight.sensitive.masking` — masked previews.

No value found here is kept in clear: findings carry a masked preview and a keyed
fingerprint of the normalised value.
"""

from apisight.sensitive.catalog import Catalog, Recognizer, load_catalog
from apisight.sensitive.scanner import FINDINGS_SCHEMA, Scanner

__all__ = ["FINDINGS_SCHEMA", "Catalog", "Recognizer", "Scanner", "load_catalog"]
