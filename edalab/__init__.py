"""EDA Lab: shared code behind the workshop's scripts, tests and checks.

Kept light on purpose: function processes import `edalab.plugins` too, so importing this
package must not pull in LocalStack, boto3 or anything slow.
"""

__version__ = "0.1.0"
