"""The SIP implementation of the telephony gateway: a minimal UDP user agent doing click-to-call."""

from .click_to_call import SipGateway, SipTrunk
from .leg import Timers

__all__ = ["SipGateway", "SipTrunk", "Timers"]
