"""Link security: working keys exchanged at sign-in, the MAC of every financial message,
and online PIN blocks. The crypto primitives come from psec (through `_psec`) and
`cryptography`; nothing here is hand-written cipher code.
"""

from pospay.security.keys import WorkingKeys, generate_working_keys, key_check_value
from pospay.security.mac import mac_valid, needs_mac, with_mac
from pospay.security.pin import PIN_SECURITY_CONTROL, encrypt_pin_block, translate_pin_block

__all__ = [
    "PIN_SECURITY_CONTROL",
    "WorkingKeys",
    "encrypt_pin_block",
    "generate_working_keys",
    "key_check_value",
    "mac_valid",
    "needs_mac",
    "translate_pin_block",
    "with_mac",
]
