"""Name <-> object resolution shared by initializers, regularizers and constraints.

Each of those modules has a base class, its classes by Keras class name, and
snake_case aliases; a :class:`Catalog` gives it the tf.keras trio ``get`` /
``serialize`` / ``deserialize`` over them.
"""
from typing import Any, Dict


class Configurable:
    """Base of initializers, regularizers and constraints: rebuilt from ``get_config()``."""

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments, as a dict."""
        return {}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Configurable":
        """Build an instance from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Catalog:
    """``get`` / ``serialize`` / ``deserialize`` for one kind of Keras object.

    Parameters
    ----------
    kind : str
        Singular noun used in error messages ("initializer", ...).
    base : type
        Instances of ``base`` are returned as they are by ``get`` and serialize
        as ``{"class_name", "config"}``.
    classes : dict
        Keras class name -> class.
    aliases : dict
        Other names -> a class or a factory function called with the config.
    """

    def __init__(self, kind, base, classes, aliases):
        self.kind, self.base = kind, base
        self.names = {**classes, **aliases}

    def serialize(self, obj):
        """``{"class_name": ..., "config": {...}}`` (None stays None; callables give their name)."""
        if obj is None:
            return None
        if isinstance(obj, self.base):
            return {"class_name": type(obj).__name__, "config": obj.get_config()}
        return getattr(obj, "__name__", repr(obj))

    def deserialize(self, config, custom_objects=None):
        """An object from a name or a ``{"class_name", "config"}`` dict.

        A user function from ``custom_objects`` is returned as it is; classes are
        built from the config.
        """
        if isinstance(config, str):
            name, args = config, {}
        elif isinstance(config, dict) and "class_name" in config:
            name, args = config["class_name"], config.get("config") or {}
        else:
            raise TypeError(f"{self.kind} config must be a name or a dict with 'class_name', "
                            f"got {config!r}")
        if custom_objects and name in custom_objects:
            found = custom_objects[name]
            if not isinstance(found, type):
                return found
        else:
            found = self.names.get(name)
        if found is None:
            raise ValueError(f"Unknown {self.kind} {name!r}: expected one of {sorted(self.names)}")
        try:
            if isinstance(found, type) and issubclass(found, self.base):
                return found.from_config(args)
            return found(**args)
        except TypeError as exc:
            raise TypeError(f"{self.kind} {name!r}: config {args!r} does not fit its "
                            f"arguments: {exc}") from None

    def get(self, identifier):
        """Resolve an argument: None, a name, a config dict, an instance or a callable."""
        if identifier is None or isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, (str, dict)):
            return self.deserialize(identifier)
        if callable(identifier):
            return identifier
        raise TypeError(f"{self.kind} must be a name, a config dict or a callable, "
                        f"got {identifier!r} of type {type(identifier).__name__}")
