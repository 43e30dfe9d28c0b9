"""The ARFF reader against hand-written files in the UCR/UEA archive's two layouts, and
against the same series written as .ts."""

import numpy as np
import pytest

from rnnkit.data.arff import load_arff
from rnnkit.data.labelled import load_labelled, load_ts
from rnnkit.errors import DataError

UNIVARIATE = """% a comment, as the archive's files open
@Relation Toy
@attribute att1 numeric
@attribute att2 numeric
@attribute att3 numeric
@attribute att4 numeric
@attribute target {b,a}

@data
1.5,2,?,4,a
-1,0.25,?,?,b
3,2,1,0,'b'
"""

MULTIVARIATE = """@relation Motion
@attribute relationalAtt relational
  @attribute t1 numeric
  @attribute t2 numeric
  @attribute t3 numeric
@end relationalAtt
@attribute activity {walk,run}
@data
'1,2,3\\n4,5,6',run
'7,8,?\\n9,10,?',walk
"""


def test_univariate_rows_missing_values_and_padding(tmp_path):
    path = tmp_path / "Toy_TRAIN.arff"
    path.write_text(UNIVARIATE)
    data = load_arff(path)
    assert data.classes == ["b", "a"]  # the declared order, not sorted
    assert [data.classes[i] for i in data.y] == ["a", "b", "b"]
    np.testing.assert_array_equal(data.X[0][:, 0], [1.5, 2, np.nan, 4])  # a gap stays NaN
    np.testing.assert_array_equal(data.X[1][:, 0], [-1, 0.25])  # trailing "?" pad: dropped
    assert data.X[2].shape == (4, 1) and data.X[2].dtype == np.float32
    assert load_labelled(path).classes == ["b", "a"]  # dispatched on the suffix


def test_multivariate_relational_matches_the_same_ts(tmp_path):
    arff = tmp_path / "M.arff"
    arff.write_text(MULTIVARIATE)
    ts = tmp_path / "M.ts"
    ts.write_text("@problemName M\n@univariate false\n@dimensions 2\n@equalLength false\n"
                  "@classLabel true walk run\n@data\n1,2,3:4,5,6:run\n7,8:9,10:walk\n")
    a, b = load_arff(arff), load_ts(ts)
    assert a.classes == b.classes == ["walk", "run"]
    np.testing.assert_array_equal(a.y, b.y)
    for x, want in zip(a.X, b.X, strict=True):
        assert x.shape == want.shape  # (3, 2) then (2, 2): channels become columns
        np.testing.assert_array_equal(x, want)
    test = tmp_path / "T.arff"
    test.write_text(MULTIVARIATE.replace("',run", "',walk"))
    assert load_arff(test, classes=a.classes).y.tolist() == [0, 0]


@pytest.mark.parametrize(("text", "match"), [
    (UNIVARIATE.replace("3,2,1,0,'b'", "3,2,1,'b'"), r"line 12: 4 values, expected 5"),
    (UNIVARIATE.replace("3,2,1,0,'b'", "3,2,1,0,c"), r"labels \['c'\] not among the classes"),
    (UNIVARIATE.replace("3,2,1,0,'b'", "3,2,x,0,b"), r"line 12 channel 1, value 3: 'x' is "
                                                    r"not a number"),
    (UNIVARIATE.replace("3,2,1,0,'b'", "?,?,?,?,b"), r"line 12: the case has no values"),
    (UNIVARIATE.replace("3,2,1,0,'b'", "3,2,1,0,?"), r"line 12: the label is missing"),
    (UNIVARIATE.replace("@data\n", ""), r"line 9: expected an @ header line or @data"),
    (UNIVARIATE.split("@data")[0], r"has no @data line"),
    ("@relation x\n@data\n1,2,a\n", r"line 2: @data before any @attribute line"),
    (UNIVARIATE.split("1.5,")[0], r"no cases after @data"),
    (UNIVARIATE.replace("@attribute att2 numeric", "@attribute"), r"line 4: expected "
                                                                   r"'@attribute NAME TYPE'"),
    (MULTIVARIATE.replace("'7,8,?\\n9,10,?',walk", "7,8,9,walk"), r"line 10: expected a "
                                                                  r"quoted relational value"),
    (MULTIVARIATE.replace("'7,8,?\\n9,10,?',walk", "'7,8,9\\n9,10,?',walk"),
     r"line 10: channels of different lengths \[3, 2\]"),
    (MULTIVARIATE.replace("'7,8,?\\n9,10,?',walk", "'7,8,9',walk"),
     r"line 10: 1 channels, expected 2 like the first case"),
])
def test_bad_files_name_the_line(tmp_path, text, match):
    path = tmp_path / "bad.arff"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        load_arff(path)
