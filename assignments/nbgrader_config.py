"""nbgrader configuration for the book's five assignments (nbgrader 0.9).

Run every nbgrader command from this directory (the course root): it holds source/ and, after
you run the commands, release/, submitted/, autograded/, feedback/ and gradebook.db (all
git-ignored). The teacher's page of the book (chapters/08_teaching/teachers.md) walks through
the whole cycle.
"""

c = get_config()  # noqa: F821 (nbgrader provides get_config when it loads this file)

# The course id names the course in the exchange directory on a shared JupyterHub. Change it to
# your course's id (one per course offering), and list your students in the gradebook with
# `nbgrader db student add` or `nbgrader db student import students.csv`.
c.CourseDirectory.course_id = "rnn-interactively"

# Seconds each cell may run when nbgrader executes a notebook (`nbgrader validate`). Grade with
# `make grade` (see the teacher's page), not `nbgrader autograde`: it runs each submission in a
# sandbox with its own limits (10 s of CPU per answer cell and per test by default).
c.Execute.timeout = 60

# A student who deletes a test cell still gets it graded: nbgrader puts the original cell (with
# its hidden tests) back before it runs the notebook. Edited test cells are restored by their
# checksum whether or not this is set.
c.OverwriteCells.add_missing_cells = True

# On a multi-user JupyterHub the exchange is a directory every user can read and write; this is
# nbgrader's default location. Uncomment and change it if your hub uses another one.
# c.Exchange.root = "/srv/nbgrader/exchange"
