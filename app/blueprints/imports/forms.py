from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length

from app.forms import KompasForm


class UploadForm(KompasForm):
    measurement_id = SelectField(_l("Measurement"), coerce=int)
    file = FileField(
        _l("Results file"),
        validators=[FileRequired(message=_l("Choose the file with the results."))],
        description=_l("CSV (UTF-8, separated by ; or ,) or Excel (XLSX), in the import format."),
    )


class ConfirmForm(KompasForm):
    """'Import' on the preview; for a file older than the newest results, the admin may also
    choose to let it change today's organisation (off unless ticked). A file that replaces
    results is confirmed by typing the measurement's name (checked in the route: only it
    knows whether the import replaces anything)."""

    update_organisation = BooleanField(_l("Also update the organisation from this file"))
    measurement_name = StringField(
        _l("Type the name of the measurement to replace its results"),
        validators=[Length(max=200)],
    )
