"""Rich output of a run (response.display): the builtin display(obj), the result's _repr_*_ and
matplotlib figures (Agg), in the order shown, within MAX_DISPLAY_BYTES. matplotlib is touched only
when user code imported pyplot (or SANDBOX_PRELOAD did). A failing _repr_*_ prints its traceback to
stderr and the next representation is tried."""
import json
import sys

# The first one an object offers is its entry (API.md).
REPR_KINDS = (('_repr_png_', 'image/png'), ('_repr_svg_', 'image/svg+xml'), ('_repr_html_', 'text/html'),
              ('_repr_markdown_', 'text/markdown'), ('_repr_json_', 'application/json'))
PYPLOT = 'matplotlib.pyplot'


class Display:
    """Entries of one run, at most max_bytes of mime_type + data in all; later ones dropped once one did not fit."""

    def __init__(self, max_bytes):
        self.entries = []
        self.room = max_bytes
        self.truncated = False

    def add(self, mime_type, data):
        size = len(mime_type) + len(data.encode('utf-8', 'surrogatepass'))
        if self.truncated or size > self.room:
            self.truncated = True
            return
        self.room -= size
        self.entries.append({'mime_type': mime_type, 'data': data})

    def report_fields(self):
        """The report's `display` and `display_truncated`, each only when there is something to say."""
        fields = {'display': self.entries} if self.entries else {}
        if self.truncated:
            fields['display_truncated'] = True
        return fields

    def show(self, obj, plain=True):
        """display(obj): a matplotlib figure as PNG (then closed), else its first _repr_*_, else (plain) its repr."""
        if is_figure(obj):
            self.figure(obj)
            return
        for method, mime_type in REPR_KINDS:
            data = call_repr(obj, method)
            if data is not None:
                encoded = encode(mime_type, data)
                if encoded is not None:
                    self.add(mime_type, encoded)
                    return
        if plain:
            try:
                self.add('text/plain', repr(obj))
            except BaseException:
                print_error('repr')

    def figure(self, fig):
        import binascii
        import io
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format='png')
            self.add('image/png', binascii.b2a_base64(buf.getvalue(), newline=False).decode('ascii'))
        except BaseException:
            print_error('savefig')
        pyplot = sys.modules.get(PYPLOT)
        if pyplot is not None:
            try:
                pyplot.close(fig)
            except BaseException:
                pass

    def open_figures(self):
        """plt.show(), and the end of the run: every open figure, once, then closed."""
        pyplot = sys.modules.get(PYPLOT)
        if pyplot is None:
            return
        try:
            figures = [pyplot.figure(num) for num in pyplot.get_fignums()]
        except BaseException:
            print_error('pyplot')
            return
        for fig in figures:
            self.figure(fig)

    def install(self, builtins):
        """The builtin display(), and plt.show() now (a preloaded pyplot) or when user code imports it."""
        def display(*objs):
            for obj in objs:
                self.show(obj)
        builtins.display = display
        if PYPLOT in sys.modules:
            self.patch_pyplot(sys.modules[PYPLOT])
        else:
            sys.meta_path.insert(0, PyplotFinder(self))

    def patch_pyplot(self, pyplot):
        def show(*args, **kwargs):
            self.open_figures()
        pyplot.show = show


class PyplotFinder:
    """Wraps the loading of matplotlib.pyplot to replace its show() (Agg cannot show a window)."""

    def __init__(self, display):
        self.display = display

    def find_spec(self, name, path, target=None):
        if name != PYPLOT:
            return None
        import importlib.machinery
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = spec and spec.loader
        if loader is None or not hasattr(loader, 'exec_module'):
            return spec
        exec_module = loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            self.display.patch_pyplot(module)
        loader.exec_module = exec_and_patch
        return spec


def is_figure(obj):
    figure = sys.modules.get('matplotlib.figure')
    return figure is not None and isinstance(obj, figure.Figure)


def call_repr(obj, method):
    try:
        fn = getattr(obj, method, None)
        if fn is None or isinstance(obj, type):
            return None
        data = fn()
        if isinstance(data, tuple) and data:  # IPython's (data, metadata)
            data = data[0]
        return data
    except BaseException:
        print_error(method)
        return None


def encode(mime_type, data):
    """The entry's data as text: PNG base64, JSON as its text, the others as they are."""
    import binascii
    try:
        if mime_type == 'image/png':
            if isinstance(data, (bytes, bytearray)):
                return binascii.b2a_base64(bytes(data), newline=False).decode('ascii')
            return data if isinstance(data, str) else None  # already base64, as IPython allows
        if mime_type == 'application/json':
            return json.dumps(data, ensure_ascii=False, allow_nan=False, default=repr)
        if isinstance(data, (bytes, bytearray)):
            return bytes(data).decode('utf-8', 'replace')
        return data if isinstance(data, str) else None
    except BaseException:
        print_error(mime_type)
        return None


def print_error(where):
    import traceback
    try:
        sys.stderr.write('display (%s) failed:\n%s' % (where, traceback.format_exc()))
    except BaseException:
        pass
