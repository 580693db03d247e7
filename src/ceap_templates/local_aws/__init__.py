"""A loopback AWS emulator for deploy rehearsals: moto's server plus this project's compat layer.

``python -m ceap_templates.local_aws --port N`` (or ``scripts/local-aws.sh start``) serves moto on
127.0.0.1 with the patches of :mod:`ceap_templates.local_aws.compat` applied, so that
CloudFormation change sets, exports and imports, Step Functions machines created by stacks,
Lambda functions and EventBridge Pipes behave the way the deploy scripts rely on.

moto is imported only inside the emulator process (never when ``ceap_templates`` is imported):
every patch module imports it inside its ``apply`` function.
"""
