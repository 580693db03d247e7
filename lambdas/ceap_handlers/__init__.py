"""CEAP Lambda stage handlers.

Entry points (the templates' ``Handler`` strings): ``ceap_handlers.handlers.{etl,filter,score,
store,reactive,customer_event}.handler``. Stage logic lives in :mod:`ceap_handlers.stages` and
imports no AWS SDK; the data contract is :mod:`ceap_handlers.contract`.
"""
